/* Writes lpr's watch list on stdout: COUNT lines "PLATE REASON", deterministic (a fixed-seed
 * xorshift), so every build makes the same file without fetching anything.
 *
 *   gen_watchlist [COUNT]      COUNT defaults to 10000
 *
 * Plates mix common formats (ABC1234, 1ABC234, AB12CDE) and a few short vanity plates, all
 * valid for plate.c. Duplicates are possible and harmless (the first line wins). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng_below(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static char letter(void) { return (char)('A' + rng_below(26)); }
static char digit(void) { return (char)('0' + rng_below(10)); }

static const char *const reasons[] = {
    "stolen vehicle", "expired registration", "unpaid parking fines", "amber alert",
    "suspended license", "wanted for questioning", "uninsured vehicle", "toll evasion",
};

int main(int argc, char **argv)
{
    long count = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    if (argc > 2 || count <= 0) {
        fprintf(stderr, "usage: gen_watchlist [COUNT > 0]\n");
        return 64;
    }
    for (long i = 0; i < count; i++) {
        char p[9];
        uint32_t format = rng_below(10);
        if (format < 6) { /* ABC1234 */
            p[0] = letter(); p[1] = letter(); p[2] = letter();
            p[3] = digit(); p[4] = digit(); p[5] = digit(); p[6] = digit(); p[7] = 0;
        } else if (format < 8) { /* 1ABC234 */
            p[0] = digit(); p[1] = letter(); p[2] = letter(); p[3] = letter();
            p[4] = digit(); p[5] = digit(); p[6] = digit(); p[7] = 0;
        } else if (format < 9) { /* AB12CDE */
            p[0] = letter(); p[1] = letter(); p[2] = digit(); p[3] = digit();
            p[4] = letter(); p[5] = letter(); p[6] = letter(); p[7] = 0;
        } else { /* vanity: 4 to 6 letters */
            uint32_t len = 4 + rng_below(3);
            for (uint32_t k = 0; k < len; k++)
                p[k] = letter();
            p[len] = 0;
        }
        const char *reason = reasons[rng_below(sizeof reasons / sizeof reasons[0])];
        printf("%s %s\n", p, reason);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
