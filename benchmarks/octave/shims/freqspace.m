function [f1, f2] = freqspace(n, flag)
% FREQSPACE shim for GNU Octave (mfif-bench harness; Octave has no freqspace).
% Written from MATLAB's documented definition: for an m-by-n grid the frequencies are
% ((0:n-1) - floor(n/2)) * (2/n) along columns and the same with m along rows; with 'meshgrid'
% both are returned as m-by-n matrices. Only the two-dimensional forms used by the metrics are supported.
  if numel(n) == 1
    n = [n n];
  end
  f1 = ((0:n(2)-1) - floor(n(2)/2)) * (2/n(2));
  f2 = ((0:n(1)-1) - floor(n(1)/2)) * (2/n(1));
  if nargin > 1 && strcmp(flag, 'meshgrid')
    [f1, f2] = meshgrid(f1, f2);
  end
end
