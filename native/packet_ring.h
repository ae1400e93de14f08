/* wiretop's own live capture ring (packet_ring.c): its calls, added to the module's exports. */
#ifndef WIRETOP_PACKET_RING_H
#define WIRETOP_PACKET_RING_H
#include <node_api.h>

void define_packet_ring(napi_env env, napi_value exports);

#endif
