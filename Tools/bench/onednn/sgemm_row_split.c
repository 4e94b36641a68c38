// Does oneDNN's sgemm give an element the same bits whichever rows around it one call covers?
// For each row block U, every call of rows [a, b) (a on the U grid, b on it or the product's end) is compared
// bit for bit with the whole product's call, over row counts 1-300, six (n, k) shapes and the four transposes.
// Found on oneDNN 2.6.3 (Debian bookworm), AMD EPYC Zen 3 (AVX2): every U from 16 to 192 fails somewhere (U=16:
// 2,628 of 3,072 cases; U=192: 80), so cxr-edit cuts a product into calls fixed by its shape
// (GEMMCallPartition) instead of per-thread row blocks.
// Build and run: gcc -O2 sgemm_row_split.c -o sgemm_row_split -ldnnl -fopenmp && ./sgemm_row_split
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dnnl.h>
#include <omp.h>
static float A[600*3000], B[3000*600], C0[600*600], C1[600*600];
// For block size U: does every call of rows [a,b) (a multiple of U, b multiple of U or M) equal the whole call?
int check(int M, int n, int k, char ta, char tb, int U){
  int lda = ta=='N'?k:M, ldb = tb=='N'?n:k;
  dnnl_sgemm(ta, tb, M, n, k, 1.f, A, lda, B, ldb, 0.f, C0, n);
  for (int a=0; a<M; a+=U) for (int b=a+U; ; b+=U){ if (b>M) b=M;
      const float* Ap = ta=='N'? A + (size_t)a*lda : A + a;
      dnnl_sgemm(ta, tb, b-a, n, k, 1.f, Ap, lda, B, ldb, 0.f, C1 + (size_t)a*n, n);
      if (memcmp(C0 + (size_t)a*n, C1 + (size_t)a*n, sizeof(float)*(b-a)*n)) return 0;
      if (b==M) break; }
  return 1;
}
int main(int argc, char**argv){
  omp_set_num_threads(1);
  unsigned long long s = 7;
  for (int i=0;i<600*3000;i++){ s = s*6364136223846793005ULL+1442695040888963407ULL; A[i] = (float)((long long)(s>>11) % 2000000)/1e6f - 1; B[i] = A[i]*0.7f+0.1f; }
  int Us[] = {16, 24, 32, 48, 64, 96, 192};
  int shapes[][2] = {{72,160},{40,77},{320,64},{64,320},{16,8},{8,1000}};
  for (int u=0; u<7; u++){
    int U = Us[u], bad = 0, total = 0; char first[200] = "";
    for (int sh=0; sh<6; sh++) for (int t=0;t<4;t++) for (int M=1; M<=300; M += (M<100?1:7)) {
      char ta=(t&2)?'T':'N', tb=(t&1)?'T':'N'; total++;
      if (!check(M, shapes[sh][0], shapes[sh][1], ta, tb, U)) { if (!bad) snprintf(first, 200, "M=%d n=%d k=%d %c%c", M, shapes[sh][0], shapes[sh][1], ta, tb); bad++; }
    }
    printf("U=%d: %d of %d cases differ (first: %s)\n", U, bad, total, first); fflush(stdout);
  }
}
