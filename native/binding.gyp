{
  "targets": [
    {
      "target_name": "wiretop_sys",
      "sources": ["wiretop_sys.c"]
    }
  ]
}
