#!/usr/bin/python3
# The test servers a notification goes to (sourced by tests through
# notify_servers.sh): a real SMTP server (python3-aiosmtpd) and an HTTP
# listener, both on 127.0.0.1 with free ports, appending what they get to
# OUT/mail.txt and OUT/hook.json; their ports go to OUT/ports.
#   notify_servers.py OUT
import http.server, json, sys, threading, time
from aiosmtpd.controller import Controller
out = sys.argv[1]
class Mail:
    async def handle_DATA(self, server, session, envelope):
        with open(out + "/mail.txt", "ab") as f:
            f.write(("X-Envelope-To: " + ",".join(envelope.rcpt_tos) + "\n").encode())
            f.write(envelope.content + b"\n.\n")
        return "250 OK"
import socket
probe = socket.socket()
probe.bind(("127.0.0.1", 0))  # aiosmtpd cannot take port 0 itself: a free one
smtp_port = probe.getsockname()[1]
probe.close()
smtp = Controller(Mail(), hostname="127.0.0.1", port=smtp_port)
smtp.start()
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(out + "/hook.json", "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http_server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=http_server.serve_forever, daemon=True).start()
with open(out + "/ports", "w") as f:
    f.write(f"{smtp_port} {http_server.server_address[1]}\n")
while True:
    time.sleep(3600)
