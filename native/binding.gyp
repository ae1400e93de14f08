{
  "targets": [
    {
      "target_name": "wiretop_sys",
      "sources": ["wiretop_sys.c", "packet_ring.c"],
      "libraries": ["-lpcap"]
    }
  ]
}
