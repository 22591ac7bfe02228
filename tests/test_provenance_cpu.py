"""The CPU's vector instruction set in run and benchmark provenance (bench.provenance.cpu_features).

Speed ratios of the compiled metric kernels move with the vector width of the host (numba compiles for
it), so benchmark headers and run.json name it; these tests pin the parsing of /proc/cpuinfo texts.
"""

from __future__ import annotations

from bench import provenance

_X86 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse sse2 sse4_1 sse4_2 avx avx2 fma avx512f avx512dq avx512bw

processor\t: 1
cpu family\t: 99
model\t\t: 99
flags\t\t: fpu
"""

_ARM = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid sve
CPU implementer\t: 0x41
"""


def test_widest_vector_set_and_family_of_the_first_processor():
    assert provenance.cpu_features(_X86) == "AVX-512, family 25 model 17"


def test_avx2_only_host():
    text = _X86.replace(" avx512f avx512dq avx512bw", "")
    assert provenance.cpu_features(text) == "AVX2, family 25 model 17"


def test_arm_features_line():
    assert provenance.cpu_features(_ARM) == "SVE"
    assert provenance.cpu_features(_ARM.replace(" sve", "")) == "NEON"


def test_nothing_known_gives_an_empty_string():
    assert provenance.cpu_features("") == ""
    assert provenance.cpu_features("processor\t: 0\nflags\t: fpu\n") == ""


def test_machine_record_and_label_carry_it(monkeypatch):
    monkeypatch.setattr(provenance, "cpu_features", lambda cpuinfo=None: "AVX2, family 25 model 1")
    monkeypatch.setattr(provenance, "cpu_name", lambda: "AMD EPYC")
    assert provenance.machine()["cpu_features"] == "AVX2, family 25 model 1"
    assert provenance.cpu_label() == "AMD EPYC (AVX2, family 25 model 1)"
    monkeypatch.setattr(provenance, "cpu_features", lambda cpuinfo=None: "")
    assert provenance.cpu_label() == "AMD EPYC"


def test_versions_name_the_kernel_compiler():
    assert "numba" in provenance.PACKAGES and "llvmlite" in provenance.PACKAGES
