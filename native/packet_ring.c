/*
 * A live capture read in place: wiretop's own AF_PACKET socket with a TPACKET_V3 ring, its
 * packets handed to JavaScript as offsets into the ring, which JavaScript sees as one
 * ArrayBuffer. libpcap's dispatch copies every packet out of the ring (whole bodies: ~8% of
 * the capture thread under load); here a block goes back to the kernel only when JavaScript
 * has finished with it, at its next read, so nothing is copied.
 *
 * Only Ethernet and loopback interfaces: for `any` (cooked headers made from socket
 * addresses) and other link types, wiretop keeps libpcap. libpcap still compiles the filter
 * (on a dead handle); VLAN tags the kernel took off are put back in front of the packet, as
 * libpcap does.
 */
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "packet_ring.h"

/* uint32 fields per packet in the table: offset in the ring, captured length, wire length, s, µs. */
#define FIELDS 5
#define VLAN_TAG_LEN 4
#define MAC_ADDRESSES_LEN 12

struct Poller;

typedef struct {
  int fd;
  int ifindex;
  uint8_t *ring;
  size_t ring_bytes;
  size_t block_bytes;
  unsigned blocks;
  /* The block being read, and where in it (NULL: at its start). */
  unsigned block;
  uint8_t *packet;
  uint32_t packets_left;
  /* Blocks read to their end and still held for JavaScript: handed back once it is done with them (ringRelease, or the next read). */
  unsigned held_from;
  unsigned held;
  uint64_t drops;
  uint32_t snaplen;
  /* The interface went down (ENETDOWN): from then on an empty read checks it still exists. */
  int went_down;
  int closed;
  /* The ring handle and the buffer over the ring: the Ring is freed when both are collected. */
  int owners;
  struct Poller *poller;
  napi_env env;
  napi_ref on_readable;
  napi_async_context async_context;
  char error[256];
} Ring;

/*
 * The poll on the socket, apart from the Ring: libuv closes it after the Ring may be gone, and
 * the thread's end waits for that close (an async cleanup hook), so that no callback runs into
 * an unloaded module.
 */
typedef struct Poller {
  uv_poll_t poll;
  Ring *ring;
  napi_async_cleanup_hook_handle hook;
} Poller;

static struct tpacket_block_desc *block_at(Ring *ring, unsigned index) {
  return (struct tpacket_block_desc *)(ring->ring + (size_t)index * ring->block_bytes);
}

static int block_ready(struct tpacket_block_desc *block) {
  return (__atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

static void hand_back(Ring *ring) {
  for (unsigned i = 0; i < ring->held; i++) {
    struct tpacket_block_desc *block = block_at(ring, (ring->held_from + i) % ring->blocks);
    __atomic_store_n(&block->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  }
  ring->held = 0;
}

static void throw_error(napi_env env, const char *text) {
  napi_throw_error(env, NULL, text);
}

static void fail(char *error, size_t size, const char *what) {
  snprintf(error, size, "%s: %s", what, strerror(errno));
}

/* The filter compiled by libpcap for Ethernet frames (it also cuts packets to the snapshot length), attached to `fd`; returns 0, or -1 with `error` set. */
static int attach_filter(int fd, const char *filter, int snaplen, int loopback, char *error, size_t error_size) {
  pcap_t *dead = pcap_open_dead(DLT_EN10MB, snaplen);
  struct bpf_program program;
  if (dead == NULL || pcap_compile(dead, &program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
    snprintf(error, error_size, "%s", dead != NULL ? pcap_geterr(dead) : "pcap_open_dead failed");
    if (dead != NULL) pcap_close(dead);
    return -1;
  }
  /*
   * Loopback shows a packet socket each packet twice, as sent and as received: the sent copy
   * is refused in the kernel, before it takes room in the ring (libpcap drops it after).
   */
  static const struct sock_filter not_sent[3] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)(SKF_AD_OFF + SKF_AD_PKTTYPE)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  unsigned prefix = loopback ? 3 : 0;
  int attached = -1;
  struct sock_filter *instructions = calloc(program.bf_len + prefix, sizeof *instructions);
  if (instructions == NULL) {
    snprintf(error, error_size, "out of memory");
  } else {
    memcpy(instructions, not_sent, prefix * sizeof *instructions);
    memcpy(instructions + prefix, program.bf_insns, program.bf_len * sizeof *instructions);
    struct sock_fprog code = { (unsigned short)(program.bf_len + prefix), instructions };
    attached = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &code, sizeof code);
    if (attached != 0) fail(error, error_size, "SO_ATTACH_FILTER");
    free(instructions);
  }
  pcap_freecode(&program);
  pcap_close(dead);
  return attached;
}

/*
 * Returns the open ring, or NULL with `error` set: whatever the reason, libpcap then reads
 * instead (and says in its own words what is wrong, if anything is).
 */
static Ring *open_ring(const char *device, const char *filter, int snaplen, size_t buffer_bytes, int timeout_ms, int promiscuous, char *error, size_t error_size) {
  void *mapped = MAP_FAILED;
  size_t ring_bytes = 0;
  /* Protocol 0: nothing arrives before the filter is set. Not inherited by programs wiretop starts. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail(error, error_size, "socket");
    return NULL;
  }
  struct ifreq request;
  memset(&request, 0, sizeof request);
  if (strlen(device) >= sizeof request.ifr_name) {
    snprintf(error, error_size, "interface name too long");
    goto failed;
  }
  strcpy(request.ifr_name, device);
  if (ioctl(fd, SIOCGIFINDEX, &request) != 0) {
    fail(error, error_size, "SIOCGIFINDEX");
    goto failed;
  }
  int ifindex = request.ifr_ifindex;
  int hardware = ioctl(fd, SIOCGIFHWADDR, &request) == 0 ? request.ifr_hwaddr.sa_family : -1;
  int loopback = hardware == ARPHRD_LOOPBACK;
  if (!loopback && hardware != ARPHRD_ETHER) {
    snprintf(error, error_size, "not an Ethernet or loopback interface");
    goto failed;
  }
  if (attach_filter(fd, filter, snaplen, loopback, error, error_size) != 0) goto failed;

  int version = TPACKET_V3;
  unsigned reserve = VLAN_TAG_LEN;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0
      || setsockopt(fd, SOL_PACKET, PACKET_RESERVE, &reserve, sizeof reserve) != 0) {
    fail(error, error_size, "TPACKET_V3");
    goto failed;
  }
  /*
   * Blocks of 256 KB, as libpcap makes them: the largest packet fits one, and a ring has many.
   * At a low rate the kernel hands a block over half empty when it is `timeout_ms` old, so the
   * number of blocks is what lets the reader be late: 128 of them for the default 32 MB ring
   * is 6.4 s at 50 ms (1 MB blocks gave 1.6 s, and a capture starved of CPU lost packets).
   */
  size_t block_bytes = 256 * 1024;
  unsigned blocks = (unsigned)(buffer_bytes / block_bytes);
  if (blocks < 2) blocks = 2;
  struct tpacket_req3 ring_request;
  memset(&ring_request, 0, sizeof ring_request);
  ring_request.tp_block_size = (unsigned)block_bytes;
  ring_request.tp_block_nr = blocks;
  ring_request.tp_frame_size = (unsigned)block_bytes;
  ring_request.tp_frame_nr = blocks;
  ring_request.tp_retire_blk_tov = (unsigned)timeout_ms;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &ring_request, sizeof ring_request) != 0) {
    fail(error, error_size, "PACKET_RX_RING");
    goto failed;
  }
  ring_bytes = block_bytes * blocks;
  mapped = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mapped == MAP_FAILED) {
    fail(error, error_size, "mmap");
    goto failed;
  }
  if (promiscuous) {
    struct packet_mreq membership;
    memset(&membership, 0, sizeof membership);
    membership.mr_ifindex = ifindex;
    membership.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof membership) != 0) {
      fail(error, error_size, "PACKET_MR_PROMISC");
      goto failed;
    }
  }
  struct sockaddr_ll address;
  memset(&address, 0, sizeof address);
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    fail(error, error_size, "bind");
    goto failed;
  }

  Ring *ring = calloc(1, sizeof *ring);
  if (ring == NULL) {
    snprintf(error, error_size, "out of memory");
    goto failed;
  }
  ring->fd = fd;
  ring->ifindex = ifindex;
  ring->ring = mapped;
  ring->ring_bytes = ring_bytes;
  ring->block_bytes = block_bytes;
  ring->blocks = blocks;
  ring->snaplen = (uint32_t)snaplen;
  return ring;

failed:
  if (mapped != MAP_FAILED) munmap(mapped, ring_bytes);
  close(fd);
  return NULL;
}

static void on_poll(uv_poll_t *handle, int status, int events);

/*
 * What went wrong with the socket, after a read that found nothing: "" when nothing did. A
 * downed interface is not an error (it may come back), but from then on every empty read
 * checks that it still exists: the kernel says ENETDOWN once, when it goes down, and nothing
 * more when it is then deleted. As libpcap does.
 */
static const char *socket_error(Ring *ring) {
  struct pollfd descriptor = { ring->fd, POLLIN, 0 };
  if (poll(&descriptor, 1, 0) > 0) {
    if (descriptor.revents & POLLNVAL) return "Invalid polling request on packet socket";
    if (descriptor.revents & POLLHUP) return "Hangup on packet socket";
    if (descriptor.revents & POLLERR) {
      int code = 0;
      socklen_t length = sizeof code;
      if (getsockopt(ring->fd, SOL_SOCKET, SO_ERROR, &code, &length) != 0) code = errno;
      if (code != 0 && code != ENETDOWN) {
        snprintf(ring->error, sizeof ring->error, "Error condition on packet socket: %s", strerror(code));
        return ring->error;
      }
      if (code == ENETDOWN) ring->went_down = 1;
      /* libuv stops a poll that reports an error: the error is read now, so it may wait again. */
      if (ring->poller != NULL) uv_poll_start(&ring->poller->poll, UV_READABLE, on_poll);
    }
  }
  char name[IF_NAMESIZE];
  if (ring->went_down && if_indextoname((unsigned)ring->ifindex, name) == NULL) return "The interface disappeared";
  return "";
}

/* Fills `table` with the packets ready, up to `rows`; returns how many, and in `emptied` whether that was all. */
static uint32_t read_packets(Ring *ring, uint32_t *table, uint32_t rows, int *emptied) {
  hand_back(ring);
  uint32_t count = 0;
  *emptied = 0;
  while (count < rows) {
    struct tpacket_block_desc *block = block_at(ring, ring->block);
    if (ring->packet == NULL) {
      if (!block_ready(block)) {
        *emptied = 1;
        break;
      }
      ring->packet = (uint8_t *)block + block->hdr.bh1.offset_to_first_pkt;
      ring->packets_left = block->hdr.bh1.num_pkts;
    }
    while (ring->packets_left > 0 && count < rows) {
      struct tpacket3_hdr *header = (struct tpacket3_hdr *)ring->packet;
      ring->packets_left--;
      ring->packet += header->tp_next_offset;
      uint8_t *data = (uint8_t *)header + header->tp_mac;
      uint32_t caplen = header->tp_snaplen;
      uint32_t length = header->tp_len;
      int tagged = header->hv1.tp_vlan_tci != 0 || (header->tp_status & TP_STATUS_VLAN_VALID) != 0;
      if (tagged && caplen >= MAC_ADDRESSES_LEN) {
        uint16_t tpid = (header->tp_status & TP_STATUS_VLAN_TPID_VALID) ? header->hv1.tp_vlan_tpid : ETH_P_8021Q;
        uint16_t tag[2] = { htons(tpid), htons((uint16_t)header->hv1.tp_vlan_tci) };
        data -= VLAN_TAG_LEN;
        memmove(data, data + VLAN_TAG_LEN, MAC_ADDRESSES_LEN);
        memcpy(data + MAC_ADDRESSES_LEN, tag, VLAN_TAG_LEN);
        caplen += VLAN_TAG_LEN;
        length += VLAN_TAG_LEN;
        /* The tag counts in the snapshot length, as libpcap cuts it. */
        if (caplen > ring->snaplen) caplen = ring->snaplen;
      }
      uint32_t *row = table + (size_t)count * FIELDS;
      row[0] = (uint32_t)(data - ring->ring);
      row[1] = caplen;
      row[2] = length;
      row[3] = header->tp_sec;
      row[4] = header->tp_nsec / 1000;
      count++;
    }
    if (ring->packets_left > 0) break;
    /* The block is read to its end: JavaScript reads it until ringRelease (or its next read). */
    if (ring->held == 0) ring->held_from = ring->block;
    ring->held++;
    ring->packet = NULL;
    ring->block = (ring->block + 1) % ring->blocks;
    if (ring->held == ring->blocks) break;
  }
  return count;
}

static void count_drops(Ring *ring) {
  struct tpacket_stats_v3 stats;
  socklen_t length = sizeof stats;
  /* The kernel's counters restart at every read: they are summed here. */
  if (getsockopt(ring->fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) == 0) ring->drops += stats.tp_drops;
}

static void poller_closed(uv_handle_t *handle) {
  Poller *poller = (Poller *)handle;
  napi_remove_async_cleanup_hook(poller->hook);
  free(poller);
}

static void release_ring(Ring *ring) {
  if (ring->closed) return;
  ring->closed = 1;
  if (ring->poller != NULL) {
    ring->poller->ring = NULL;
    uv_poll_stop(&ring->poller->poll);
    uv_close((uv_handle_t *)&ring->poller->poll, poller_closed);
    ring->poller = NULL;
  }
  /* The ArrayBuffer over the ring may outlive the socket: its pages become zeros, never unmapped memory. */
  mmap(ring->ring, ring->ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  close(ring->fd);
  if (ring->on_readable != NULL) {
    napi_delete_reference(ring->env, ring->on_readable);
    ring->on_readable = NULL;
  }
  if (ring->async_context != NULL) {
    napi_async_destroy(ring->env, ring->async_context);
    ring->async_context = NULL;
  }
}

/* The thread ends with the ring open: it is closed, and the thread waits for the poll's close. */
static void close_at_exit(napi_async_cleanup_hook_handle hook, void *data) {
  (void)hook;
  Poller *poller = data;
  /* Already closing: the close's callback removes the hook. */
  if (poller->ring != NULL) release_ring(poller->ring);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  Ring *ring = ((Poller *)handle)->ring;
  if (ring == NULL || ring->closed || ring->on_readable == NULL) return;
  napi_env env = ring->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value callback, global, result;
  napi_get_reference_value(env, ring->on_readable, &callback);
  napi_get_global(env, &global);
  napi_make_callback(env, ring->async_context, global, callback, 0, NULL, &result);
  napi_close_handle_scope(env, scope);
}

/* One of the ring's two JavaScript owners (its handle, the buffer over it) was collected. */
static void drop_owner(Ring *ring) {
  if (--ring->owners > 0) return;
  release_ring(ring);
  munmap(ring->ring, ring->ring_bytes);
  free(ring);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  drop_owner(data);
}

static void finalize_buffer(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  drop_owner(hint);
}

/* The call's first `count` arguments into `argv`; the ring its first one names, or NULL (too few arguments, or not a ring). */
static Ring *ring_argument(napi_env env, napi_callback_info info, napi_value *argv, size_t count) {
  size_t argc = count;
  void *ring = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < count || napi_get_value_external(env, argv[0], &ring) != napi_ok) return NULL;
  return ring;
}

/* ringOpen(device, filter, snaplen, bufferBytes, timeoutMs, promiscuous, onReadable) → { ring, buffer, blockBytes } */
static napi_value RingOpen(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char device[64], filter[8192];
  size_t length;
  int32_t snaplen = 0, timeout_ms = 0;
  double buffer_bytes = 0;
  bool promiscuous = false;
  if (argc < 7 || napi_get_value_string_utf8(env, argv[0], device, sizeof device, &length) != napi_ok
      || napi_get_value_string_utf8(env, argv[1], filter, sizeof filter, &length) != napi_ok || length >= sizeof filter - 1
      || napi_get_value_int32(env, argv[2], &snaplen) != napi_ok || napi_get_value_double(env, argv[3], &buffer_bytes) != napi_ok
      || napi_get_value_int32(env, argv[4], &timeout_ms) != napi_ok || napi_get_value_bool(env, argv[5], &promiscuous) != napi_ok) {
    throw_error(env, "ringOpen takes a device, a filter, a snapshot length, a buffer size, a timeout, a flag and a function");
    return NULL;
  }
  char error[512];
  Ring *ring = open_ring(device, filter, snaplen, (size_t)buffer_bytes, timeout_ms, promiscuous, error, sizeof error);
  if (ring == NULL) {
    throw_error(env, error);
    return NULL;
  }
  ring->env = env;
  napi_value name;
  napi_create_string_utf8(env, "wiretop:packetRing", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &ring->async_context);
  napi_create_reference(env, argv[6], 1, &ring->on_readable);
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  Poller *poller = calloc(1, sizeof *poller);
  if (poller != NULL && uv_poll_init(loop, &poller->poll, ring->fd) == 0) {
    poller->ring = ring;
    ring->poller = poller;
    napi_add_async_cleanup_hook(env, close_at_exit, poller, &poller->hook);
    uv_poll_start(&poller->poll, UV_READABLE, on_poll);
  } else {
    /* No wake-ups: the capture loop still reads on its timer. */
    free(poller);
  }
  napi_value result, external, buffer, block_bytes;
  napi_create_object(env, &result);
  ring->owners = 2;
  napi_create_external(env, ring, finalize_handle, NULL, &external);
  /* The ring's memory outlives close() while JavaScript holds the buffer or the handle (see release_ring). */
  napi_create_external_arraybuffer(env, ring->ring, ring->ring_bytes, finalize_buffer, ring, &buffer);
  napi_set_named_property(env, result, "ring", external);
  napi_set_named_property(env, result, "buffer", buffer);
  /* A packet never crosses a block: JavaScript hands each one over in its block's view. */
  napi_create_uint32(env, (uint32_t)ring->block_bytes, &block_bytes);
  napi_set_named_property(env, result, "blockBytes", block_bytes);
  return result;
}

/*
 * ringRead(ring, table: Uint32Array, state: Uint32Array) → packets in the table; state[0] is 1
 * when they were all the ring had ready. Throws when the socket failed.
 */
static napi_value RingRead(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  Ring *ring = ring_argument(env, info, argv, 3);
  napi_typedarray_type type, state_type;
  size_t elements = 0, state_elements = 0;
  void *data = NULL, *state = NULL;
  if (ring == NULL || napi_get_typedarray_info(env, argv[1], &type, &elements, &data, NULL, NULL) != napi_ok || type != napi_uint32_array
      || napi_get_typedarray_info(env, argv[2], &state_type, &state_elements, &state, NULL, NULL) != napi_ok || state_type != napi_uint32_array || state_elements < 1) {
    throw_error(env, "ringRead takes a ring and two Uint32Arrays");
    return NULL;
  }
  napi_value result;
  if (ring->closed) {
    ((uint32_t *)state)[0] = 1;
    napi_create_int32(env, 0, &result);
    return result;
  }
  int emptied = 0;
  uint32_t count = read_packets(ring, data, (uint32_t)(elements / FIELDS), &emptied);
  ((uint32_t *)state)[0] = (uint32_t)emptied;
  if (count == 0) {
    const char *problem = socket_error(ring);
    if (problem[0] != '\0') {
      throw_error(env, problem);
      return NULL;
    }
  }
  napi_create_uint32(env, count, &result);
  return result;
}

/* ringRelease(ring): the frames of the last read are done with; their blocks go back to the kernel now. */
static napi_value RingRelease(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Ring *ring = ring_argument(env, info, argv, 1);
  if (ring != NULL && !ring->closed) hand_back(ring);
  return NULL;
}

/* ringDrops(ring) → the kernel's drops since the ring was opened. */
static napi_value RingDrops(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Ring *ring = ring_argument(env, info, argv, 1);
  if (ring == NULL) {
    throw_error(env, "ringDrops takes a ring");
    return NULL;
  }
  if (!ring->closed) count_drops(ring);
  napi_value result;
  napi_create_double(env, (double)ring->drops, &result);
  return result;
}

/* ringJoinFanout(ring, group) → '' or the system's reason. */
static napi_value RingJoinFanout(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Ring *ring = ring_argument(env, info, argv, 2);
  uint32_t group = 0;
  if (ring == NULL || napi_get_value_uint32(env, argv[1], &group) != napi_ok) {
    throw_error(env, "ringJoinFanout takes a ring and a group number");
    return NULL;
  }
  const char *reason = "";
  uint32_t value = (group & 0xffff) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
  if (ring->closed) reason = "the capture is closed";
  else if (setsockopt(ring->fd, SOL_PACKET, PACKET_FANOUT, &value, sizeof value) != 0) reason = strerror(errno);
  napi_value result;
  napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &result);
  return result;
}

/* ringClose(ring): the socket closed, the poll stopped; the memory goes once the handle and the buffer are both collected. */
static napi_value RingClose(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Ring *ring = ring_argument(env, info, argv, 1);
  if (ring != NULL) release_ring(ring);
  return NULL;
}

void define_packet_ring(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
    { "ringOpen", NULL, RingOpen, NULL, NULL, NULL, napi_default, NULL },
    { "ringRead", NULL, RingRead, NULL, NULL, NULL, napi_default, NULL },
    { "ringRelease", NULL, RingRelease, NULL, NULL, NULL, napi_default, NULL },
    { "ringDrops", NULL, RingDrops, NULL, NULL, NULL, napi_default, NULL },
    { "ringJoinFanout", NULL, RingJoinFanout, NULL, NULL, NULL, napi_default, NULL },
    { "ringClose", NULL, RingClose, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
}
