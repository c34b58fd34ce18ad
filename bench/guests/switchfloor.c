/* Host floor of a --mm single switch, run natively by bench/switch.sh: unmap a guest range and
 * map R runs of a memfd back (MAP_SHARED|MAP_FIXED), then touch P pages (the minor faults the
 * guest takes after). argv: R P. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
static long long now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
int main(int argc,char**argv){
  int runs=atoi(argv[1]), touch=atoi(argv[2]), iters=20000;
  int fd=memfd_create("phys",0); ftruncate(fd,1<<26);
  char*base=(char*)0x100000000ULL; size_t span=(size_t)runs*0x10000;
  long long t0=now();
  for(int i=0;i<iters;i++){
    munmap(base,1ULL<<40);
    for(int r=0;r<runs;r++) mmap(base+(size_t)r*0x10000,0x4000,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_FIXED,fd,(off_t)r*0x4000);
    for(int p=0;p<touch;p++){ volatile char*c=base+(size_t)(p%runs)*0x10000+((p/runs)%4)*4096; (void)*c; }
  }
  printf("runs=%d touched=%d: %.2f us per switch\n",runs,touch,(now()-t0)/1e3/iters);
  (void)span; return 0;}
