/*
 * The two system calls wiretop needs and Node does not offer, for the thread that calls them
 * (both are per-thread on Linux): no_new_privs (no later exec may gain privileges) and an
 * empty capability set (what a setcap'd node keeps after the capture is open). N-API, so every
 * thread of the process can load it.
 */
#include <node_api.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

static napi_value boolean(napi_env env, int value) {
  napi_value result;
  napi_get_boolean(env, value, &result);
  return result;
}

static napi_value SetNoNewPrivs(napi_env env, napi_callback_info info) {
  (void)info;
  return boolean(env, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
}

static napi_value DropCapabilities(napi_env env, napi_callback_info info) {
  (void)info;
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
  return boolean(env, syscall(SYS_capset, &header, data) == 0);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
    { "setNoNewPrivs", NULL, SetNoNewPrivs, NULL, NULL, NULL, napi_default, NULL },
    { "dropCapabilities", NULL, DropCapabilities, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}
