"""What a running instance serves: a deterministic OpenAI-compatible chat API.

The reply echoes the last user message with the model's name, token counts are words, and
``stream: true`` sends OpenAI chunk events, so LangChain's ``ChatOpenAI`` works against it
unchanged. Errors use OpenAI's ``{"error": {...}}`` shape, as an OpenAI client expects here.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from pulumi_cortecs.testing.fake._constants import RUNNING, to_hf_name
from pulumi_cortecs.testing.fake._instances import FakeInstance
from pulumi_cortecs.testing.fake._wire import FakeRequest, FakeResponse, HttpError, json_response


@dataclass(frozen=True)
class ServingContext:
    """What the backend knows that an answer depends on."""

    now: float
    api_key: str
    serving_delay: float
    completion_number: int
    ingress_errors: tuple[int, ...] = ()


# A long context for instances added out of band without one.
_UNKNOWN_CONTEXT_LENGTH = 1 << 20


def _context_length(instance: FakeInstance) -> int:
    length = instance.args.get("context_length")
    return length if isinstance(length, int) else _UNKNOWN_CONTEXT_LENGTH


def ingress_error(status: int) -> FakeResponse:
    """What the ingress in front of a fresh endpoint answers before it routes to it: its own
    HTML page, not the instance's OpenAI-style error."""
    title = f"{status} {HTTPStatus(status).phrase}"
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return FakeResponse(status=status, headers={"content-type": "text/html"}, body=page.encode())


def openai_error(status: int, message: str, kind: str) -> FakeResponse:
    return json_response(status, {"error": {"message": message, "type": kind, "code": status}})


def serve(
    request: FakeRequest, instance: FakeInstance | None, route: str, ctx: ServingContext
) -> FakeResponse:
    """Answer ``route`` (e.g. ``/chat/completions``) of ``instance``'s OpenAI-compatible API."""
    if instance is None:
        return openai_error(404, "no such instance", "not_found_error")
    if instance.status(ctx.now) == RUNNING:
        # A fresh endpoint: the ingress may not route to it for its first few requests.
        instance.fresh_requests += 1
        if instance.fresh_requests <= len(ctx.ingress_errors):
            return ingress_error(ctx.ingress_errors[instance.fresh_requests - 1])
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip(), ctx.api_key):
        return openai_error(401, "invalid API key", "authentication_error")
    if instance.status(ctx.now) != RUNNING or ctx.now < instance.running_since + ctx.serving_delay:
        return openai_error(503, "the instance is not ready to serve yet", "service_unavailable")
    hf_name = to_hf_name(instance.args["model_id"])
    if route == "/models" and request.method == "GET":
        return _models(hf_name, instance, ctx)
    if route == "/chat/completions" and request.method == "POST":
        try:
            return _chat(request.json_object(), hf_name, instance, ctx)
        except HttpError as error:
            return openai_error(error.status, error.detail, "invalid_request_error")
    return openai_error(404, f"no route {request.method} {route}", "not_found_error")


def _models(hf_name: str, instance: FakeInstance, ctx: ServingContext) -> FakeResponse:
    model = {
        "id": hf_name,
        "object": "model",
        "created": int(instance.running_since),
        "owned_by": "cortecs",
        "max_model_len": _context_length(instance),
    }
    return json_response(200, {"object": "list", "data": [model]})


def _text(content: Any) -> str:
    """A message's text, whether given as a string or as OpenAI content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _chat(
    body: dict[str, Any], hf_name: str, instance: FakeInstance, ctx: ServingContext
) -> FakeResponse:
    if body.get("model") != hf_name:
        return openai_error(
            404,
            f"The model `{body.get('model')}` does not exist; serving {hf_name}",
            "not_found_error",
        )
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) for m in messages)
    ):
        raise HttpError(400, "messages must be a non-empty list of message objects")

    # One token per word plus one per message: crude, but deterministic and monotonic.
    prompt_tokens = sum(len(_text(m.get("content")).split()) + 1 for m in messages)
    if prompt_tokens > _context_length(instance):
        raise HttpError(
            400,
            f"This model's maximum context length is {_context_length(instance)} tokens; "
            f"the messages have {prompt_tokens}",
        )
    user_texts = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
    words = f"{hf_name} echoes: {user_texts[-1] if user_texts else ''}".split()
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish_reason = "stop"
    if isinstance(limit, int) and 0 < limit < len(words):
        words, finish_reason = words[:limit], "length"
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(words),
        "total_tokens": prompt_tokens + len(words),
    }
    head = {
        "id": f"chatcmpl-fake-{ctx.completion_number}",
        "created": int(ctx.now),
        "model": hf_name,
    }
    if body.get("stream"):
        options = body.get("stream_options") or {}
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        return _stream(head, words, finish_reason, usage if include_usage else None)
    message = {"role": "assistant", "content": " ".join(words)}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
    return json_response(
        200, {**head, "object": "chat.completion", "choices": [choice], "usage": usage}
    )


def _stream(
    head: dict[str, Any], words: list[str], finish_reason: str, usage: dict[str, int] | None
) -> FakeResponse:
    """Server-sent events: a role chunk, one chunk per word, a finish chunk, usage, [DONE]."""

    def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        chunk = {**head, "object": "chat.completion.chunk", "choices": [choice]}
        return f"data: {json.dumps(chunk)}\n\n".encode()

    chunks = [event({"role": "assistant", "content": ""})]
    chunks += [event({"content": word if i == 0 else f" {word}"}) for i, word in enumerate(words)]
    chunks.append(event({}, finish_reason))
    if usage is not None:
        usage_chunk = {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}
        chunks.append(f"data: {json.dumps(usage_chunk)}\n\n".encode())
    chunks.append(b"data: [DONE]\n\n")
    return FakeResponse(
        status=200,
        headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
        body=b"".join(chunks),
        chunks=chunks,
    )
