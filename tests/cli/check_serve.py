#!/usr/bin/env python3
"""CTest cli_serve: `polympc serve` and `polympc query` as separate processes over TLS 1.3.

Dealer, server and clients are separate processes on loopback (the server on a port the OS
picks); the clients hold only the exported architecture. Checks, each against the
server's log and the clients' reports:
  * a stray plaintext connection and a stalled TLS connection before the real client burn
    no material (the client's first batch is batch 0);
  * a client gets logits identical to the one-process run, and a second client running at
    the same time gets its own (their runs overlap in time);
  * wrong certificates both ways (client certificate and trusted CA from another CA);
  * a malformed query and a slow-drip client end with clear errors within the server's
    timeout, and the server goes on serving;
  * a client killed mid-inference: the server logs the failure and serves the next client;
  * the client's total deadline stops a run that cannot finish in time (no result);
  * plaintext off loopback is refused on both sides;
  * a server killed mid-inference: the client stops within its timeout, exits non-zero and
    claims no result (no JSON report).
Standard library only. Usage: check_serve.py POLYMPC MODEL SOURCE_DIR OUT_DIR
"""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

polympc, model, source, out = sys.argv[1:5]
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
D = lambda *p: os.path.join(out, *p)
os.makedirs(D("srv"))
os.makedirs(D("cli"))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    else:
        print("ok:", what, flush=True)


def run(*args, ok=True, timeout=300):
    p = subprocess.run([polympc, *args], capture_output=True, text=True, timeout=timeout)
    if ok and p.returncode != 0:
        sys.exit(f"polympc {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


for ca in ("ca", "rogue"):
    subprocess.run(["bash", os.path.join(source, "scripts/make-test-ca.sh"), D(ca)], check=True,
                   capture_output=True)
tls = lambda who, ca="ca": ["--ca", D(ca, "ca.pem"), "--cert", D(ca, who + ".pem"), "--key", D(ca, who + ".key")]

run("export-arch", "--model", model, "--out", D("arch.json"))
runs = {}
BIG = 24  # images of the runs that get interrupted (batches of 1: slow enough to interrupt)
for name, images in (("a", 6), ("b", 6), ("c", 6), ("kill", BIG), ("late", 6), ("slow", BIG), ("down", BIG)):
    run("dealer", "--arch", D("arch.json"), "--images", str(images), "--batch", "3" if images == 6 else "1",
        "--p0", D("srv", name + ".mat"), "--p1", D("cli", name + ".mat"))
run("infer", "--model", model, "--images", "6", "--batch", "3", "--quiet", "--json", D("one.json"))
one = json.load(open(D("one.json")))

log = open(D("server.log"), "w")
server = subprocess.Popen([polympc, "serve", "--model", model, "--material", D("srv"), "--listen", "127.0.0.1:0",
                           "--port-file", D("port"), "--ledger", D("ledger0"), "--timeout", "3000",
                           "--deadline", "120", "--max-clients", "4", *tls("server")],
                          stdout=log, stderr=subprocess.STDOUT)
for _ in range(300):
    if os.path.exists(D("port")) or server.poll() is not None:
        break
    time.sleep(0.1)
if not os.path.exists(D("port")):
    sys.exit("server did not start:\n" + open(D("server.log")).read())
port = int(open(D("port")).read())
addr = f"127.0.0.1:{port}"


def server_log():
    log.flush()
    return open(D("server.log")).read()


def wait_log(text, seconds=30):
    t0 = time.time()
    while time.time() - t0 < seconds:
        if text in server_log():
            return True
        time.sleep(0.1)
    return False


def query(name, *extra, images=6, json_name=None, background=False):
    args = [polympc, "query", "--connect", addr, "--arch", D("arch.json"), "--material", D("cli", name + ".mat"),
            "--images", str(images), "--ledger", D("ledger1"), "--quiet", "--timeout", "5000", *extra]
    if json_name:
        args += ["--json", D(json_name)]
    if "--ca" not in extra:
        args += tls("client")
    if background:
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def tls_client():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(D("ca", "ca.pem"))
    ctx.load_cert_chain(D("ca", "client.pem"), D("ca", "client.key"))
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    s.sendall(b"PMPC" + bytes([1, 1, 0, 0]))
    hello = s.recv(8)
    return s, hello


# 1. Stray connections first: plaintext garbage, and a TLS client that stalls.
stray = socket.create_connection(("127.0.0.1", port))
stray.sendall(b"GET / HTTP/1.0\r\n\r\n")
stray.close()
stalled, hello = tls_client()
check(hello[:4] == b"PMPC", "the server answers a TLS client's hello")

# 2. Two clients at once, each on its own dealer run.
t0 = time.time()
qa = query("a", json_name="a.json", background=True)
qb = query("b", json_name="b.json", background=True)
ra_out, ra_err = qa.communicate(timeout=300)
ta = time.time()
rb_out, rb_err = qb.communicate(timeout=300)
check(qa.returncode == 0, "client a succeeds: " + ra_err.strip()[-300:])
check(qb.returncode == 0, "client b succeeds: " + rb_err.strip()[-300:])
if qa.returncode == 0 and qb.returncode == 0:
    a, b = json.load(open(D("a.json"))), json.load(open(D("b.json")))
    check(a["logits"] == one["logits"], "client a's logits equal the one-process run's")
    check(b["logits"] == one["logits"], "client b's logits equal the one-process run's")
    check(a["first_segment"] == 0, "the stray connections burnt no material (client a starts at batch 0)")
    log_text = server_log()
    check(log_text.count("served 6 images") == 2, "the server logs both queries")
    first_served = log_text.index("served 6 images")
    check(log_text.count("accepted a query of 6 images", 0, first_served) == 2,
          "the second client was accepted while the first ran")
stalled_err = None
try:
    stalled.recv(1)
except OSError as e:
    stalled_err = e
stalled.close()
check(wait_log("timed out after 3000 ms"), "the stalled connection is dropped after the server's timeout")
check("not a polympc endpoint" in server_log() or "TLS handshake" in server_log(),
      "the plaintext stray connection is refused")

# 3. Wrong certificates.
r = query("c", "--ca", D("ca", "ca.pem"), "--cert", D("rogue", "client.pem"), "--key", D("rogue", "client.key"))
check(r.returncode != 0 and ("TLS" in r.stderr or "certificate" in r.stderr),
      "a client certificate from another CA is refused: " + r.stderr.strip()[-200:])
check(wait_log("certificate"), "the server logs the rejected client certificate")
r = query("c", *tls("client", "rogue")[:0], "--ca", D("rogue", "ca.pem"), "--cert", D("ca", "client.pem"),
          "--key", D("ca", "client.key"))
check(r.returncode != 0 and "certificate" in r.stderr,
      "a server certificate the client's CA did not sign is refused: " + r.stderr.strip()[-200:])
r = query("c", json_name="c.json")
check(r.returncode == 0 and json.load(open(D("c.json")))["first_segment"] == 0,
      "the refused connections burnt none of run c's material")

# 4. Malformed query and slow drip after a valid TLS handshake and hello.
s, _ = tls_client()
s.sendall(b"NOTAQUERY" + bytes(23))
time.sleep(0.2)
s.close()
check(wait_log("malformed query"), "a malformed query is a clear error in the server's log")
s, _ = tls_client()
t_drip = time.time()
try:
    for byte in b"PMPCQRY1" + bytes(24):
        s.sendall(bytes([byte]))
        time.sleep(0.3)
except OSError:
    pass
s.close()
check(wait_log("timed out after 3000 ms reading 32 bytes"), "a slow-drip query ends at the server's read timeout")
check(time.time() - t_drip < 15, "the slow drip did not extend the timeout")

# 5. A client killed mid-inference; the server then serves the next client.
failed_before = server_log().count("query failed")
qk = query("kill", images=BIG, background=True)
check(wait_log(f"accepted a query of {BIG} images"), "the long query starts")
time.sleep(0.3)
qk.send_signal(signal.SIGKILL)
qk.wait()
check(wait_log("closed by peer") and server_log().count("query failed") == failed_before + 1,
      "the server reports the killed client's query as failed (peer closed)")
r = query("late", json_name="late.json")
check(r.returncode == 0 and json.load(open(D("late.json")))["logits"] == one["logits"],
      "the server serves the next client after a killed one")

# 6. The client's total deadline.
t1 = time.time()
r = query("slow", "--deadline", "0.5", images=BIG, json_name="slow.json")
check(r.returncode != 0 and "deadline" in r.stderr, "the client's deadline stops a long run: " + r.stderr.strip()[-200:])
check(time.time() - t1 < 8, "within the deadline (plus start-up)")
check(not os.path.exists(D("slow.json")), "a run stopped by the deadline claims no result")

# 7. Plaintext off loopback is refused.
r = run("serve", "--model", model, "--material", D("srv"), "--listen", "0.0.0.0:0", "--plaintext", ok=False)
check(r.returncode != 0 and "loopback" in r.stderr, "plaintext serve off loopback is refused")
r = run("query", "--connect", "192.0.2.1:7766", "--plaintext", "--arch", D("arch.json"), "--material",
        D("cli", "down.mat"), "--images", "3", "--ledger", D("ledger1"), ok=False)
check(r.returncode != 0 and "loopback" in r.stderr, "plaintext query off loopback is refused")
r = run("serve", "--model", model, "--material", D("srv"), "--listen", "127.0.0.1:0", ok=False)
check(r.returncode != 0 and "--plaintext" in r.stderr, "serve without TLS options asks for them or --plaintext")

# 8. The server killed mid-inference.
accepted = server_log().count(f"accepted a query of {BIG} images")
qd = query("down", images=BIG, json_name="down.json", background=True)
t_wait = time.time()
while server_log().count(f"accepted a query of {BIG} images") == accepted and time.time() - t_wait < 30:
    time.sleep(0.05)
time.sleep(0.3)
server.send_signal(signal.SIGKILL)
server.wait()
t2 = time.time()
try:
    qd.communicate(timeout=30)
except subprocess.TimeoutExpired:
    qd.kill()
check(qd.returncode not in (0, None), "the client fails when the server dies")
check(time.time() - t2 < 10, "the client stops within its timeout")
check(not os.path.exists(D("down.json")), "the client claims no result")

log.close()

# 9. A model made for its own fixed point (the QAT model: l = 34, f = 6 in its metadata):
# serve reads it from the model, the dealer and query from the architecture file; no
# --bits/--frac anywhere, and the logits equal the one-process run's.
qat = os.path.join(source, "models", "fmnist_pasnet_lambda0_qat.onnx")
os.makedirs(D("qsrv"), exist_ok=True)
os.makedirs(D("qcli"), exist_ok=True)
run("export-arch", "--model", qat, "--out", D("qat.json"))
run("dealer", "--arch", D("qat.json"), "--images", "6", "--batch", "3", "--p0", D("qsrv", "q.mat"),
    "--p1", D("qcli", "q.mat"))
run("infer", "--model", qat, "--images", "6", "--batch", "3", "--quiet", "--json", D("qat_one.json"))
qlog = open(D("qat_server.log"), "w")
qserver = subprocess.Popen([polympc, "serve", "--model", qat, "--material", D("qsrv"), "--listen", "127.0.0.1:0",
                            "--port-file", D("qport"), "--ledger", D("qledger0"), "--max-queries", "1",
                            *tls("server")], stdout=qlog, stderr=subprocess.STDOUT)
for _ in range(300):
    if os.path.exists(D("qport")) or qserver.poll() is not None:
        break
    time.sleep(0.1)
r = subprocess.run([polympc, "query", "--connect", "127.0.0.1:" + open(D("qport")).read().strip(), "--arch",
                    D("qat.json"), "--material", D("qcli", "q.mat"), "--images", "6", "--ledger", D("qledger1"),
                    "--quiet", "--json", D("qat_query.json"), *tls("client")], capture_output=True, text=True,
                   timeout=300)
qserver.wait(timeout=60)
qlog.close()
check(r.returncode == 0 and json.load(open(D("qat_query.json")))["logits"] == json.load(open(D("qat_one.json")))["logits"],
      "serve and query run the QAT model at its own fixed point: " + r.stderr.strip()[-300:])
print(open(D("server.log")).read())
if failures:
    sys.exit(f"{len(failures)} check(s) failed: " + "; ".join(failures))
print("cli_serve: all checks passed")
