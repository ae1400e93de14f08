/*
 * The two system calls wiretop needs and Node does not offer, for the thread that calls them
 * or for every thread of the process (both are per-thread on Linux): no_new_privs (no later exec may gain privileges) and an
 * empty capability set (what a setcap'd node keeps after the capture is open). N-API, so every
 * thread of the process can load it. And the main thread's watchdog, as a plain thread: a
 * Node worker for it cost ~9 MB of the process's memory (a whole JavaScript heap) to read one
 * counter a second. The live capture's ring reader (packet_ring.c) is part of the module too.
 */
#include <node_api.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "packet_ring.h"

static napi_value boolean(napi_env env, int value) {
  napi_value result;
  napi_get_boolean(env, value, &result);
  return result;
}

static int set_no_new_privs(void) {
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;
}

static int drop_capabilities(void) {
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
  return syscall(SYS_capset, &header, data) == 0;
}

/*
 * Every thread of the process, not only wiretop's own: the runtime's helper threads (V8's
 * platform workers, libuv's pool) were started before any JavaScript ran and would keep a
 * setcap'd node's capabilities. Each is sent a real-time signal whose handler makes the two
 * calls on that thread (both are async-signal-safe system calls), the way the C library
 * broadcasts setuid; threads started later inherit the state of the thread that starts them.
 */
static volatile sig_atomic_t broadcast_drop_capabilities;
static int locked_threads;
static int failed_threads;

static void lock_down_on_signal(int signal_number) {
  (void)signal_number;
  int ok = set_no_new_privs();
  if (broadcast_drop_capabilities && !drop_capabilities()) ok = 0;
  __atomic_add_fetch(ok ? &locked_threads : &failed_threads, 1, __ATOMIC_SEQ_CST);
}

/* Whether `thread` blocks `signal_number` (from its SigBlk line), so would never run the handler. */
static int blocks_signal(pid_t thread, int signal_number) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)thread);
  FILE *status = fopen(path, "r");
  if (status == NULL) return 0;
  int blocked = 0;
  while (fgets(line, sizeof line, status) != NULL) {
    if (strncmp(line, "SigBlk:", 7) != 0) continue;
    unsigned long long mask = strtoull(line + 7, NULL, 16);
    blocked = (mask >> (signal_number - 1)) & 1ULL;
    break;
  }
  fclose(status);
  return blocked;
}

static napi_value LockDownProcess(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool drop = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_get_value_bool(env, argv[0], &drop);
  broadcast_drop_capabilities = drop;
  __atomic_store_n(&locked_threads, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&failed_threads, 0, __ATOMIC_SEQ_CST);

  int signal_number = SIGRTMIN + 6;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = lock_down_on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(signal_number, &action, NULL);

  pid_t process = getpid();
  pid_t self = (pid_t)syscall(SYS_gettid);
  int others = 0, threads = 1;
  DIR *tasks = opendir("/proc/self/task");
  if (tasks != NULL) {
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL) {
      pid_t thread = (pid_t)atoi(entry->d_name);
      if (thread <= 0 || thread == self) continue;
      threads++;
      /* Signalling a thread that blocks the signal would leave it pending there for good. */
      if (blocks_signal(thread, signal_number)) continue;
      if (syscall(SYS_tgkill, process, thread, signal_number) == 0) others++;
    }
    closedir(tasks);
  }
  int self_ok = set_no_new_privs() && (!drop || drop_capabilities());

  /* Threads blocked in a system call run the handler as soon as it is interrupted: this takes
     microseconds; the bound is for a thread that exits meanwhile. */
  struct timespec pause = { 0, 1000 * 1000 };
  for (int waited = 0; waited < 200; waited++) {
    if (__atomic_load_n(&locked_threads, __ATOMIC_SEQ_CST) + __atomic_load_n(&failed_threads, __ATOMIC_SEQ_CST) >= others) break;
    nanosleep(&pause, NULL);
  }
  int locked = __atomic_load_n(&locked_threads, __ATOMIC_SEQ_CST) + (self_ok ? 1 : 0);

  napi_value result, value;
  napi_create_object(env, &result);
  napi_create_int32(env, threads, &value);
  napi_set_named_property(env, result, "threads", value);
  napi_create_int32(env, locked, &value);
  napi_set_named_property(env, result, "locked", value);
  return result;
}

static napi_value SetNoNewPrivs(napi_env env, napi_callback_info info) {
  (void)info;
  return boolean(env, set_no_new_privs());
}

static napi_value DropCapabilities(napi_env env, napi_callback_info info) {
  (void)info;
  return boolean(env, drop_capabilities());
}

/*
 * The watchdog. The main thread counts `heartbeats`; when the count has not moved for
 * `stall_seconds` checks a second apart, no signal handler of wiretop's can run any more (they
 * run on that thread), so this thread gives the terminal back (the alternate screen left, the
 * cursor shown, the terminal's settings as they were when the watchdog started), says why in
 * one line and kills the process. Once per process, whichever thread starts it.
 */
static int heartbeats;
static int watchdog_running;
static int stall_seconds;
static struct termios terminal_at_start;
static int terminal_saved;

static void write_all(int fd, const char *text) {
  size_t left = strlen(text);
  while (left > 0) {
    ssize_t written = write(fd, text, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    text += written;
    left -= (size_t)written;
  }
}

static void *watch_main_thread(void *unused) {
  (void)unused;
  set_no_new_privs();
  int last = __atomic_load_n(&heartbeats, __ATOMIC_RELAXED);
  int still_for = 0;
  while (still_for < stall_seconds) {
    struct timespec second = { 1, 0 };
    while (nanosleep(&second, &second) != 0 && errno == EINTR) {}
    int now = __atomic_load_n(&heartbeats, __ATOMIC_RELAXED);
    if (now != last) {
      last = now;
      still_for = 0;
    } else {
      still_for++;
    }
  }
  /* SIGTTOU is blocked in this thread, so a run in the background may still set the terminal. */
  if (isatty(1)) write_all(1, "\x1b[?1049l\x1b[?25h\x1b[0m");
  if (terminal_saved) tcsetattr(0, TCSANOW, &terminal_at_start);
  char line[160];
  snprintf(line, sizeof line, "wiretop: the main thread has not answered for %d s (a plug-in in an endless loop?): stopping\n", stall_seconds);
  write_all(2, line);
  kill(getpid(), SIGKILL);
  return NULL;
}

static napi_value StartWatchdog(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t seconds = 30;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_get_value_int32(env, argv[0], &seconds);
  if (__atomic_exchange_n(&watchdog_running, 1, __ATOMIC_SEQ_CST)) return boolean(env, 1);
  stall_seconds = seconds > 0 ? seconds : 30;
  terminal_saved = isatty(0) && tcgetattr(0, &terminal_at_start) == 0;

  /* Process signals stay with Node's threads; the one that locks threads down comes in. */
  sigset_t blocked, previous;
  sigfillset(&blocked);
  sigdelset(&blocked, SIGRTMIN + 6);
  pthread_sigmask(SIG_SETMASK, &blocked, &previous);
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attributes, 64 * 1024);
  pthread_t thread;
  int started = pthread_create(&thread, &attributes, watch_main_thread, NULL) == 0;
  pthread_attr_destroy(&attributes);
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  if (!started) __atomic_store_n(&watchdog_running, 0, __ATOMIC_SEQ_CST);
  return boolean(env, started);
}

static napi_value WatchdogBeat(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  __atomic_add_fetch(&heartbeats, 1, __ATOMIC_RELAXED);
  return NULL;
}

/*
 * Marks every packet socket of the process close-on-exec: libpcap opens its capture socket
 * without it, and a program wiretop starts (an --on-alert command) would inherit a raw socket
 * on the interface, which works without any privilege once open. Returns how many it marked.
 */
static napi_value PacketSocketsCloseOnExec(napi_env env, napi_callback_info info) {
  (void)info;
  int marked = 0;
  DIR *descriptors = opendir("/proc/self/fd");
  if (descriptors != NULL) {
    struct dirent *entry;
    while ((entry = readdir(descriptors)) != NULL) {
      int fd = atoi(entry->d_name);
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9' || fd == dirfd(descriptors)) continue;
      int domain = 0;
      socklen_t length = sizeof domain;
      if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0 || domain != AF_PACKET) continue;
      int flags = fcntl(fd, F_GETFD);
      if (flags >= 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0) marked++;
    }
    closedir(descriptors);
  }
  napi_value result;
  napi_create_int32(env, marked, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
    { "setNoNewPrivs", NULL, SetNoNewPrivs, NULL, NULL, NULL, napi_default, NULL },
    { "dropCapabilities", NULL, DropCapabilities, NULL, NULL, NULL, napi_default, NULL },
    { "lockDownProcess", NULL, LockDownProcess, NULL, NULL, NULL, napi_default, NULL },
    { "startWatchdog", NULL, StartWatchdog, NULL, NULL, NULL, napi_default, NULL },
    { "watchdogBeat", NULL, WatchdogBeat, NULL, NULL, NULL, napi_default, NULL },
    { "packetSocketsCloseOnExec", NULL, PacketSocketsCloseOnExec, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  define_packet_ring(env, exports);
  return exports;
}
