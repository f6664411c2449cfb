"""A scripted OpenAI-compatible chat server for the accuracy tests (standard library only).

It knows the questions of a dataset and a reply for each: the tests decide which replies are
right, so the score EvalScope must report is known exactly. It counts and records every request
(to prove a resumed run does not ask again), checks the API key, streams like vLLM when asked, and
can stall after N answers so a test can interrupt a run at a known point.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedOpenAI:
    def __init__(self, replies, api_key, model="scripted", stall_after=None):
        """replies: {question text: reply text}; the question found last in the prompt is answered."""
        self.replies = dict(replies)
        self.api_key = api_key
        self.model = model
        self.stall_after = stall_after
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.requests = []  # every chat request: {question, answered, stream, body}
        self.answered = 0
        self.in_flight = 0
        self.max_in_flight = 0  # to check that the client keeps within eval_batch_size
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/v1" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def find_question(self, text):
        best = None
        for q in self.replies:
            pos = text.rfind(q)
            if pos >= 0 and (best is None or pos > best[0]):
                best = (pos, q)
        return best[1] if best else None

    def resume(self):
        """Stop stalling: drop the held requests and answer everything from now on."""
        with self.lock:
            self.stall_after = None
        self.release.set()

    def answered_questions(self):
        with self.lock:
            return [r["question"] for r in self.requests if r["answered"]]

    def _handler(self):
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, code, obj):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self):
                if self.headers.get("Authorization") != "Bearer " + srv.api_key:
                    self._json(401, {"error": {"message": "bad key", "type": "Unauthorized", "code": 401}})
                    return False
                return True

            def do_GET(self):
                if not self._authorized():
                    return
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": srv.model, "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self._authorized():
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                text = "\n".join(
                    m.get("content") or "" for m in body.get("messages", []) if isinstance(m.get("content"), str)
                )
                question = srv.find_question(text)
                record = {
                    "question": question,
                    "answered": False,
                    "stream": bool(body.get("stream")),
                    "body": body,
                    "t": time.time(),
                }
                with srv.lock:
                    srv.requests.append(record)
                    srv.in_flight += 1
                    srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
                    stall = srv.stall_after is not None and srv.answered >= srv.stall_after
                try:
                    self._answer(body, text, question, record, stall)
                finally:
                    with srv.lock:
                        srv.in_flight -= 1

            def _answer(self, body, text, question, record, stall):
                if stall:
                    # Held until the test has interrupted the client, then dropped unanswered: it
                    # stands for work the interrupted run never got back.
                    record["stalled"] = True
                    srv.release.wait(600)
                    self.close_connection = True
                    return
                reply = srv.replies.get(question, "I do not know.")
                usage = {"prompt_tokens": max(1, len(text) // 4), "completion_tokens": max(1, len(reply) // 4)}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                created = int(time.time())
                try:
                    if body.get("stream"):
                        self._stream(reply, usage, created)
                    else:
                        self._json(
                            200,
                            {
                                "id": "chatcmpl-scripted",
                                "object": "chat.completion",
                                "created": created,
                                "model": body.get("model"),
                                "choices": [
                                    {
                                        "index": 0,
                                        "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": reply},
                                    }
                                ],
                                "usage": usage,
                            },
                        )
                except (BrokenPipeError, ConnectionResetError):
                    return
                with srv.lock:
                    record["answered"] = True
                    srv.answered += 1

            def _stream(self, reply, usage, created):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def chunk(obj):
                    data = ("data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n").encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

                base = {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": srv.model,
                }
                chunk(
                    dict(
                        base,
                        choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                    )
                )
                for i in range(0, len(reply), 16):
                    chunk(
                        dict(
                            base, choices=[{"index": 0, "delta": {"content": reply[i : i + 16]}, "finish_reason": None}]
                        )
                    )
                chunk(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
                chunk(dict(base, choices=[], usage=usage))
                chunk("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        return Handler


def gsm8k_replies(rows, right):
    """Replies for gsm8k rows ({question, answer: '... #### N'}): right for indexes in `right`,
    otherwise a different number."""
    replies = {}
    for i, row in enumerate(rows):
        n = int(row["answer"].split("####")[-1].strip().replace(",", ""))
        given = n if i in right else n + 1
        replies[row["question"]] = "Step by step: the result is %d.\nANSWER: \\boxed{%d}" % (given, given)
    return replies
