/*
 * Running a translator or compiler as a child process under limits.
 *
 * CPU time, address space and file size are kernel rlimits (the kernel
 * kills with SIGXCPU/SIGKILL/SIGXFSZ); wall time is watched here, and on
 * expiry the child's whole process group is killed (gcc runs cc1 and as as
 * grandchildren). stderr goes to a temporary file so that a tool printing
 * megabytes of errors cannot fill a pipe or our memory: we keep its tail.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compile_internal.h"

/* How often a compile the caller may give up on asks it (limits->stopped). */
#define STOP_POLL_MS 100

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void set_limit(int resource, rlim_t value) {
  struct rlimit rl = {value, value};
  /* CPU: a soft limit under the hard one, so that the tool gets SIGXCPU
   * (and says so) rather than the SIGKILL the kernel sends at the hard limit
   * first when the two are equal, which was taken for running out of memory
   * (and an opt chunk compiled again at -O1, with the same limit again) */
  if (resource == RLIMIT_CPU && value != RLIM_INFINITY) rl.rlim_max = value + 1;
  setrlimit(resource, &rl);
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static _Noreturn void exec_child(const char *const argv[], const char *cwd, int err_fd,
                                 const mote_child_limits *limits) {
  setpgid(0, 0);
  /* The tool starts as a fresh process would: the signals the forking
   * thread blocked (a lazy compiler's threads block them all) and those
   * the process ignores (SIGPIPE) would be inherited by exec, and a blocked
   * SIGXFSZ turns the output limit into a write error a compiler may not
   * check; so is every descriptor but stdio (pipes and files of the
   * process's other threads). */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGXFSZ, SIG_DFL);
  signal(SIGXCPU, SIG_DFL);
  int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
  }
  dup2(err_fd, 2);
  close_range(3, ~0u, 0);
  if (cwd && chdir(cwd) != 0) _exit(126);
  set_limit(RLIMIT_CPU, limits->cpu_seconds);
  set_limit(RLIMIT_AS, limits->memory_bytes);
  set_limit(RLIMIT_FSIZE, limits->output_bytes);
  set_limit(RLIMIT_CORE, 0);
  execvp(argv[0], (char *const *)argv);
  static const char msg[] = "cannot execute the tool\n";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  (void)ignored;
  _exit(127);
}

static void read_tail(int fd, char *out, size_t cap) {
  out[0] = 0;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size == 0) return;
  off_t start = st.st_size > (off_t)(cap - 1) ? st.st_size - (off_t)(cap - 1) : 0;
  ssize_t n = pread(fd, out, cap - 1, start);
  if (n < 0) n = 0;
  out[n] = 0;
  /* Keep it printable on one terminal: strip trailing newlines. */
  while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = 0;
}

void mote_child_run(const char *const argv[], const char *cwd, const mote_child_limits *limits,
                    mote_child_result *r) {
  memset(r, 0, sizeof *r);
  char err_path[] = "/tmp/mote-stderr-XXXXXX";
  int err_fd = mkostemp(err_path, O_CLOEXEC);
  if (err_fd < 0) {
    r->outcome = MOTE_CHILD_SPAWN_FAILED;
    snprintf(r->stderr_tail, sizeof r->stderr_tail, "cannot create a temporary file: %s",
             strerror(errno));
    return;
  }
  unlink(err_path);

  double start = now_ms();
  pid_t pid = fork();
  if (pid < 0) {
    r->outcome = MOTE_CHILD_SPAWN_FAILED;
    snprintf(r->stderr_tail, sizeof r->stderr_tail, "fork failed: %s", strerror(errno));
    close(err_fd);
    return;
  }
  if (pid == 0) exec_child(argv, cwd, err_fd, limits);
  setpgid(pid, pid); /* also in the parent, so the kill below cannot miss */

  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  double deadline = start + limits->wall_seconds * 1e3;
  /* Why the child was killed: MOTE_CHILD_WALL_TIME or _STOPPED; EXITED
   * while it was not (it is then waited for without a timeout). */
  mote_child_outcome killed = MOTE_CHILD_EXITED;
  /* Woken the moment the child ends (a pidfd turns readable); a kernel
   * without pidfds gets a polling loop. */
  int pfd = pidfd_open(pid, 0);
  for (unsigned sleep_us = 200;;) {
    if (killed == MOTE_CHILD_EXITED) {
      if (limits->stopped && limits->stopped(limits->stopped_ctx)) killed = MOTE_CHILD_STOPPED;
      else if (now_ms() > deadline) killed = MOTE_CHILD_WALL_TIME;
      if (killed != MOTE_CHILD_EXITED) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
      }
    }
    if (pfd >= 0 && killed == MOTE_CHILD_EXITED) {
      double left = deadline - now_ms();
      if (left > 0) {
        struct pollfd pf = {.fd = pfd, .events = POLLIN};
        int cap = limits->stopped ? STOP_POLL_MS : 60000;
        int n = poll(&pf, 1, left > cap ? cap : (int)left + 1);
        if (n < 0 && errno != EINTR) {
          close(pfd);
          pfd = -1;
        }
        if (n == 0) continue; /* a timeout: ask and check the deadline, above */
      }
    }
    /* wait4: the child's usage with that of the children it waited for
     * (gcc's cc1 and as), so ru_maxrss is the largest of them */
    pid_t w = wait4(pid, &status, killed != MOTE_CHILD_EXITED ? 0 : WNOHANG, &ru);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (pfd >= 0 || killed != MOTE_CHILD_EXITED) continue;
    usleep(sleep_us);
    if (sleep_us < 20000) sleep_us *= 2;
  }
  if (pfd >= 0) close(pfd);
  kill(-pid, SIGKILL); /* grandchildren left behind by a killed driver */
  /* ...which are our children when mote is PID 1 (in a container) or a
   * subreaper: reaped, as no one else will (they piled up as zombies
   * until stop 30); any other process gets ECHILD at once here. At most
   * ~2 s for the killed to die: one in uninterruptible sleep is left. */
  for (int waits = 0; waits < 2000;) {
    pid_t w = waitpid(-pid, NULL, WNOHANG);
    if (w > 0 || (w < 0 && errno == EINTR)) continue;
    if (w < 0) break; /* ECHILD: none left */
    usleep(1000);     /* some still dying */
    waits++;
  }
  r->wall_ms = now_ms() - start;
  r->max_rss_kb = ru.ru_maxrss;
  read_tail(err_fd, r->stderr_tail, sizeof r->stderr_tail);
  close(err_fd);

  if (killed != MOTE_CHILD_EXITED) {
    r->outcome = killed;
  } else if (WIFSIGNALED(status)) {
    r->outcome = MOTE_CHILD_SIGNALED;
    r->signal = WTERMSIG(status);
  } else {
    r->outcome = MOTE_CHILD_EXITED;
    r->exit_code = WEXITSTATUS(status);
    if (r->exit_code == 127 && strstr(r->stderr_tail, "cannot execute")) {
      r->outcome = MOTE_CHILD_SPAWN_FAILED;
      snprintf(r->stderr_tail, sizeof r->stderr_tail, "%s: not found (run scripts/deps.sh)",
               argv[0]);
    }
  }
}

void mote_child_describe(const mote_child_result *r, const mote_child_limits *limits, char *out,
                         size_t cap) {
  switch (r->outcome) {
    case MOTE_CHILD_EXITED:
      snprintf(out, cap, "exited with status %d", r->exit_code);
      break;
    case MOTE_CHILD_WALL_TIME:
      snprintf(out, cap, "killed: wall-time limit (%u s)", limits->wall_seconds);
      break;
    case MOTE_CHILD_STOPPED:
      snprintf(out, cap, "stopped by its caller");
      break;
    case MOTE_CHILD_SIGNALED:
      if (r->signal == SIGXCPU)
        snprintf(out, cap, "killed: CPU time limit (%u s)", limits->cpu_seconds);
      else if (r->signal == SIGXFSZ)
        snprintf(out, cap, "killed: output size limit (%zu MiB)", limits->output_bytes >> 20);
      else if (r->signal == SIGKILL || r->signal == SIGSEGV || r->signal == SIGABRT)
        snprintf(out, cap, "killed by signal %d (%s); memory limit is %zu MiB", r->signal,
                 strsignal(r->signal), limits->memory_bytes >> 20);
      else
        snprintf(out, cap, "killed by signal %d (%s)", r->signal, strsignal(r->signal));
      break;
    case MOTE_CHILD_SPAWN_FAILED:
      snprintf(out, cap, "could not start");
      break;
  }
}
