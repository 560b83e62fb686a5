"""The local labelling workbench: a Flask app on 127.0.0.1 serving one page and a small JSON API.

Security, for special-category data on a shared machine:

* bound to 127.0.0.1 only, and requests whose Host is not this address are refused (a web page
  cannot reach it by DNS rebinding);
* a random token in the address; every request must carry it (the page in its query string, the
  API in an ``X-RHI-Token`` header, which another site's page cannot set without a CORS preflight
  that this server never grants);
* a strict Content-Security-Policy: the page loads only its own script and style, connects only to
  itself, and can be framed by nothing; no asset comes from outside;
* no request logging (werkzeug's access log is off) and errors answer with a generic message, so
  narrative text never reaches a log.

Audit mode shows no model output of any kind; training mode may show the model's guess and
highlight cue phrases; adjudication mode shows both labellers' labels for each disagreement.
"""

from __future__ import annotations

import html
import logging
import secrets
from importlib import resources

from flask import Flask, Response, abort, jsonify, request

from ..labels import ADJUDICATOR, LabelFile, disagreements

KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "q", "w", "e", "r", "t"]
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
MAX_NOTE = 2000


def _static(name: str) -> str:
    return (resources.files("rhi_nlp.workbench") / "static" / name).read_text(encoding="utf-8")


class Workbench:
    """The state behind the app: the file, who is labelling, the mode and (training) the model."""

    def __init__(self, lf: LabelFile, *, labeller: str, mode: str, model=None):
        self.lf, self.labeller, self.mode, self.model = lf, labeller, mode, model
        self._nlp = None
        if mode == "adjudicate":
            self.order = [lf.index[i] for i, _ in disagreements(lf)]
        else:
            self.order = list(range(len(lf.ids)))

    @property
    def who(self) -> str:
        return ADJUDICATOR if self.mode == "adjudicate" else self.labeller

    def progress(self) -> dict:
        return self.lf.progress(self.who, [self.lf.ids[k] for k in self.order])

    def themes(self) -> list[dict]:
        return [{"id": t.id, "name": t.name, "definition": t.definition, "include": t.include, "exclude": t.exclude,
                 "clarifications": list(t.clarifications), "key": KEYS[n] if n < len(KEYS) else ""}
                for n, t in enumerate(self.lf.themes)]

    def item(self, n: int) -> dict:
        if not 0 <= n < len(self.order):
            abort(404)
        k = self.order[n]
        i = self.lf.ids[k]
        text = self.lf.df.at[k, self.lf.text_col]
        st = self.lf.state(self.who).get(i)
        out = {"n": n, "id": i, "text": "" if text is None else str(text),
               "labels": dict(st.labels) if st else {}, "done": bool(st and st.done),
               "unsure": bool(st and st.unsure), "note": st.note if st else ""}
        if self.mode == "adjudicate":
            names = self.lf.labellers()[:2]
            others = {name: self.lf.state(name)[i].labels for name in names}
            out["others"] = others
            if not st:  # start from what the two labellers agree on
                a, b = others[names[0]], others[names[1]]
                out["labels"] = {t: v for t, v in a.items() if b.get(t) == v}
        elif self.mode == "training" and self.model is not None:
            out.update(self._model_view(out["text"]))
        return out

    def _model_view(self, text: str) -> dict:
        """The model's guess and the cue phrases (training mode only)."""
        from ..features import doc_to_record
        from ..nlp import build_pipeline
        from ..text import clean_text

        if self._nlp is None:
            self._nlp = build_pipeline()
        clean = clean_text(text)
        if clean != text or not clean:
            return {"guess": {}, "cues": []}  # offsets would not line up with the text shown
        doc = self._nlp(clean)
        rec = doc_to_record(doc, self.model.theme_ids)
        probs = self.model.classifier.predict_proba([rec])[0]
        cues = [[sp.start_char, sp.end_char, sp.label_, not sp._.rhi_modifiers] for sp in doc.spans["rhi_cues"]]
        return {"guess": {t: round(float(p), 3) for t, p in zip(self.model.theme_ids, probs)}, "cues": cues}

    def change(self, n: int, body: dict) -> dict:
        if not 0 <= n < len(self.order):
            abort(404)
        i = self.lf.ids[self.order[n]]
        valid = {t.id for t in self.lf.themes}
        if "theme" in body:
            if body["theme"] not in valid or body.get("value") not in (0, 1):
                abort(400)
            self.lf.record(self.who, i, theme=body["theme"], value=int(body["value"]))
        elif "unsure" in body:
            self.lf.record(self.who, i, unsure=bool(body["unsure"]))
        elif "note" in body:
            if not isinstance(body["note"], str):
                abort(400)
            self.lf.record(self.who, i, note=body["note"][:MAX_NOTE])
        elif "done" in body:
            labels = body.get("labels") or {}
            if not isinstance(labels, dict) or any(k not in valid or v not in (0, 1) for k, v in labels.items()):
                abort(400)
            self.lf.record(self.who, i, done=bool(body["done"]), labels=labels)
        else:
            abort(400)
        return self.progress()


def create_app(wb: Workbench, token: str, port_ref: list[int]) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    @app.before_request
    def guard():
        allowed = {f"127.0.0.1:{port_ref[0]}", f"localhost:{port_ref[0]}"}
        if request.host not in allowed:
            abort(403)
        given = request.args.get("t", "") if request.method == "GET" and not request.path.startswith("/api/") \
            else request.headers.get("X-RHI-Token", "")
        if not secrets.compare_digest(given, token):
            abort(403)
        if request.method == "POST" and not request.is_json:
            abort(415)

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return resp

    @app.errorhandler(Exception)
    def failed(exc):  # a generic answer: an exception's message could quote data
        code = getattr(exc, "code", 500)
        return jsonify({"error": "request refused" if code < 500 else "internal error"}), code

    @app.get("/")
    def page():
        body = _static("page.html").replace("{{TOKEN}}", html.escape(token, quote=True)).replace(
            "{{FILE}}", html.escape(wb.lf.path.name))
        return Response(body, mimetype="text/html")

    @app.get("/static/app.js")
    def script():
        return Response(_static("app.js"), mimetype="text/javascript")

    @app.get("/static/app.css")
    def style():
        return Response(_static("app.css"), mimetype="text/css")

    @app.get("/api/state")
    def state():
        return jsonify({"file": wb.lf.path.name, "mode": wb.mode, "labeller": wb.who, "themes": wb.themes(),
                        "progress": wb.progress(), "labellers": wb.lf.labellers()})

    @app.get("/api/item/<int:n>")
    def item(n: int):
        return jsonify(wb.item(n))

    @app.post("/api/item/<int:n>")
    def change(n: int):
        return jsonify(wb.change(n, request.get_json(silent=True) or {}))

    return app


def serve(lf: LabelFile, *, labeller: str, mode: str, model=None, port: int = 0, open_browser: bool = True,
          announce=print) -> None:
    """Serve until interrupted; the file is rewritten from the journal before returning."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log: URLs carry the token
    token = secrets.token_urlsafe(24)
    port_ref = [port]
    wb = Workbench(lf, labeller=labeller, mode=mode, model=model)
    app = create_app(wb, token, port_ref)
    server = make_server("127.0.0.1", port, app, threaded=True)
    port_ref[0] = server.server_port
    url = f"http://127.0.0.1:{server.server_port}/?t={token}"
    announce(url)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        lf.flush()

