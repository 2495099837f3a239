"""fakeserve.py - what every fake cloud (fake_aws, fake_gcp, fake_k8s,
fake_ibm) shares to run. serve(): once its server is listening, the port is
written to --port-file (atomically, for scripts) and announced as `PORT N`
on stdout (what tests/lib/harness.py's FakeProcess reads); with
--exit-on-stdin-eof the process exits when its parent's end of stdin
closes, so a test that dies takes its fake with it; then it serves until
interrupted. reset_connection(): the connection reset a fake answers with
when a fault tells it to."""
import os
import socket
import struct
import sys
import threading


def reset_connection(handler):
    """Closes a request handler's connection with a TCP RST (SO_LINGER 0)
    instead of an answer: the fault a client sees as "connection reset"."""
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass
    handler.close_connection = True


def serve(srv, port, port_file=None, exit_on_stdin_eof=False):
    """Announces port and runs srv.serve_forever() (returns on Ctrl-C)."""
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, port_file)
    print("PORT %d" % port, flush=True)
    if exit_on_stdin_eof:
        def watch():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
