"""The runtime around the domain: the ASGI server and its routes, request log, logging, metrics, mail,
the bulk worker, the command line and the demo. It may import the domain (app/*) and, in server.py alone,
the API layer; the domain never imports it."""
