/*
 * A state machine: 12 states, each case doing a little arithmetic and setting
 * the next state to a constant. clang writes it to wasm as a loop with a
 * br_table on the state (wasm has no irreducible control flow, so clang does
 * not thread the transitions); gcc threads a C switch's constant transitions
 * into direct jumps, and mote must leave it a switch for that
 * (docs/architecture.md, "A state machine keeps the switch"). argv[1] is the
 * number of steps in millions. Prints the result and the compute time on
 * stderr (bench_clock.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_clock.h"

static uint32_t run(uint32_t n, uint32_t x) {
  uint32_t s = 0, acc = 0;
  while (n--) {
    switch (s) {
      case 0: acc += 3; s = 10; break;
      case 1: acc *= 3; s = 2; break;
      case 2: acc ^= x; s = 11; break;
      case 3: acc = acc << 7 | acc >> 25; s = 7; break;
      case 4: acc >>= 1; s = 1; break;
      case 5: acc ^= 38; s = 3; break;
      case 6: acc -= 45; s = 6; break;
      case 7: acc += 52; s = 0; break;
      case 8: acc *= 3; s = 8; break;
      case 9: acc ^= x; s = 5; break;
      case 10: acc = acc << 7 | acc >> 25; s = 4; break;
      case 11: acc >>= 1; s = 9; break;
      default: acc -= 5; s = 0; break;
    }
  }
  return acc;
}

int main(int argc, char **argv) {
  uint32_t millions = argc > 1 ? (uint32_t)atoi(argv[1]) : 300;
  double start = bench_now_us();
  uint32_t r = run(millions * 1000000u, 12345);
  bench_report(start);
  printf("states %u\n", r);
  return 0;
}
