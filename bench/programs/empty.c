/* A function whose main does nothing: built like the example functions (functions.mk's wasm
 * flags), its X-Mote-Exec-Us is what every call's _start costs around main (wasi-libc's start-up:
 * constructors, preopens, the arguments; its exit: destructors, stdio, proc_exit) and that a
 * native loop calling main directly does not have. bench/functions.sh measures it. */
int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return 0;
}
