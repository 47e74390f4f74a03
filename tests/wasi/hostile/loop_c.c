/* An endless loop in C over a volatile counter (loads and stores, no calls). */
int main(void) {
  volatile unsigned n = 0;
  for (;;) n++;
}
