function B = blkproc(A, blk, border, fun)
% BLKPROC shim for GNU Octave (mfif-bench harness), MATLAB's documented behaviour for the form
% blkproc(A, [m n], [0 0], fun) with a scalar-valued fun: A is zero-padded at the bottom/right to a
% multiple of the block size and fun is applied to each distinct block; B(i,j) is the value of block (i,j).
  if any(border ~= 0)
    error('blkproc shim: only border [0 0] is supported');
  end
  [M, N] = size(A);
  mb = ceil(M / blk(1));
  nb = ceil(N / blk(2));
  P = zeros(mb * blk(1), nb * blk(2));
  if ~isreal(A)
    P = complex(P);
  end
  P(1:M, 1:N) = A;
  B = zeros(mb, nb);
  for j = 1:nb
    for i = 1:mb
      B(i, j) = fun(P((i-1)*blk(1) + (1:blk(1)), (j-1)*blk(2) + (1:blk(2))));
    end
  end
end
