"""Building blocks for app-hosted Switchboard bots in Python: the standard library and `websockets`.

- `Switchboard`: signs in with client credentials and calls the Graph-shaped API (`/v1.0`).
- `create_media_configuration`: the `appHostedMediaConfig.blob` that tells Switchboard where the
  bot's media socket is (named after Graph's `MediaPlatform.CreateMediaConfiguration`).
- `TokenVerifier`: checks the JWT on notifications and on every media-socket dial against the keys
  the server publishes (RS256, verified here with plain integer arithmetic).
- `NotificationReceiver`: the bot's webhook, a small HTTP server feeding an asyncio queue.
- `audio_message`, `parse_audio`: the media socket's binary frames (a 20-byte header, then
  16-bit little-endian PCM at 16 kHz, mono).

The media socket protocol (`switchboard.media.v1`) is described in Switchboard's
docs/media-socket.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import http
import http.server
import json
import math
import os
import secrets
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import wave
from collections import namedtuple
from pathlib import Path

#: The WebSocket subprotocol Switchboard dials with.
SUBPROTOCOL = "switchboard.media.v1"
#: `struct` layout of a frame header: kind, flags, reserved, sourceId, seq, timestamp.
HEADER = struct.Struct("<BBHIIQ")
#: Header `kind` of an audio frame.
KIND_AUDIO = 1
#: Header flag bits.
FLAG_SILENCE, FLAG_UNMIXED, FLAG_DISCONTINUITY = 1, 2, 4
#: Samples per second, and bytes of one 20 ms frame.
SAMPLE_RATE, FRAME_BYTES = 16000, 640

#: The demo directory `switchboard serve` seeds when no [[apps]] are configured.
DEMO_TENANT = "00000000-0000-4000-8000-000000000001"
DEMO_APP = "00000000-0000-4000-8000-00000000a001"

Frame = namedtuple("Frame", "flags source_id seq timestamp pcm")


def create_media_configuration(
    url: str,
    auth_token: str | None = None,
    stream_directions: str = "sendrecv",
    receive_unmixed_meeting_audio: bool = False,
    receive_mixed_audio: bool = True,
) -> str:
    """The `appHostedMediaConfig.blob` for a media socket at `url` (ws:// or wss://)."""
    blob = {
        "url": url,
        "streamDirections": stream_directions,
        "supportedAudioFormat": "pcm16k",
        "receiveUnmixedMeetingAudio": receive_unmixed_meeting_audio,
        "receiveMixedAudio": receive_mixed_audio,
    }
    if auth_token is not None:
        blob["authToken"] = auth_token
    return json.dumps(blob)


def audio_message(pcm: bytes) -> bytes:
    """A message carrying the bot's audio: any whole number of 16-bit samples."""
    return HEADER.pack(KIND_AUDIO, 0, 0, 0, 0, 0) + pcm


def parse_audio(message: bytes) -> Frame:
    """A frame from Switchboard: who it is from (0: the mix), its place in time, its audio."""
    kind, flags, _, source_id, seq, timestamp = HEADER.unpack_from(message)
    if kind != KIND_AUDIO:
        raise ValueError(f"frame kind {kind} is not audio")
    return Frame(flags, source_id, seq, timestamp, message[HEADER.size :])


def level_dbfs(pcm: bytes) -> float:
    """The RMS level of 16-bit PCM, in dB below full scale."""
    count = len(pcm) // 2
    if count == 0:
        return -120.0
    samples = struct.unpack(f"<{count}h", pcm[: count * 2])
    rms = math.sqrt(sum(s * s for s in samples) / count)
    return 20 * math.log10(max(rms, 1e-3) / 32768)


def tone(frequency: float, seconds: float, amplitude: float = 0.3) -> bytes:
    """A sine tone as 16 kHz PCM."""
    count = int(SAMPLE_RATE * seconds)
    scale = amplitude * 32767
    return struct.pack(
        f"<{count}h",
        *(int(scale * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE)) for n in range(count)),
    )


def read_wav(path: Path) -> bytes:
    """A 16 kHz mono 16-bit WAV file's samples."""
    with wave.open(str(path)) as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path}: need 16 kHz mono 16-bit, not {wav.getparams()}")
        return wav.readframes(wav.getnframes())


def demo_credentials(data_dir: str = "./switchboard-data") -> tuple[str, str, str]:
    """Tenant, app id and secret of the demo app `make run` seeds (its secret file)."""
    secret_file = Path(data_dir) / "demo-app-secret"
    try:
        secret = secret_file.read_text().strip()
    except FileNotFoundError:
        raise SystemExit(
            f"no {secret_file}: start the server with `make run` (from the repository root) first, "
            "or pass --data-dir"
        ) from None
    return DEMO_TENANT, DEMO_APP, secret


class GraphError(Exception):
    """The API answered with an error: the status and Graph's error body."""

    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Switchboard:
    """An application signed in to a Switchboard server."""

    def __init__(self, base_url: str, tenant: str, app_id: str, secret: str):
        self.base_url = base_url.rstrip("/")
        self.tenant = tenant
        self.app_id = app_id
        self._secret = secret
        self._token: tuple[str, float] | None = None

    def token(self) -> str:
        """An access token, renewed a minute before it expires."""
        if self._token and self._token[1] > time.time() + 60:
            return self._token[0]
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.app_id,
                "client_secret": self._secret,
                "scope": "https://graph.microsoft.com/.default",
            }
        ).encode()
        url = f"{self.base_url}/{self.tenant}/oauth2/v2.0/token"
        with urllib.request.urlopen(urllib.request.Request(url, data=form), timeout=10) as reply:
            body = json.load(reply)
        self._token = (body["access_token"], time.time() + body["expires_in"])
        return self._token[0]

    def request(self, method: str, path: str, body: dict | None = None) -> dict | None:
        """Calls `/v1.0{path}`; the JSON answer, or None for an empty one."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/v1.0{path}", data=data, method=method
        )
        request.add_header("Authorization", f"Bearer {self.token()}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                text = reply.read()
        except urllib.error.HTTPError as error:
            raise GraphError(error.code, error.read().decode(errors="replace")) from None
        return json.loads(text) if text else None

    async def call(self, method: str, path: str, body: dict | None = None) -> dict | None:
        """`request` without blocking the event loop."""
        return await asyncio.to_thread(self.request, method, path, body)

    def set_calling_webhook(self, url: str) -> None:
        """Announces this app's incoming calls at `url` (a Switchboard extension)."""
        self.request("PUT", "/switchboard/callingWebhook", {"url": url})

    def discovery(self) -> dict:
        """The server's OpenID discovery document."""
        url = f"{self.base_url}/.well-known/openid-configuration"
        with urllib.request.urlopen(url, timeout=10) as reply:
            return json.load(reply)


class TokenVerifier:
    """Checks Switchboard's RS256 JWTs: signature with a published key, issuer, audience, expiry."""

    #: ASN.1 DigestInfo prefix of a SHA-256 hash in a PKCS #1 v1.5 signature.
    _SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

    def __init__(self, server: Switchboard):
        discovery = server.discovery()
        self.issuer = discovery["notification_issuer"]
        self.audience = server.app_id
        with urllib.request.urlopen(discovery["jwks_uri"], timeout=10) as reply:
            keys = json.load(reply)["keys"]
        self._keys = {
            key["kid"]: (_int(key["n"]), _int(key["e"])) for key in keys if key["kty"] == "RSA"
        }

    def verify(self, token: str) -> dict:
        """The token's claims, or `ValueError` naming what was wrong."""
        try:
            header_b64, claims_b64, signature_b64 = token.split(".")
        except ValueError:
            raise ValueError("not a JWT (three dot-separated parts)") from None
        header = json.loads(_b64(header_b64))
        if header.get("alg") != "RS256":
            raise ValueError(f"algorithm {header.get('alg')!r}; only RS256 is accepted")
        key = self._keys.get(header.get("kid"))
        if key is None:
            raise ValueError(f"key {header.get('kid')!r} is not published by the server")
        n, e = key
        size = (n.bit_length() + 7) // 8
        signed = pow(int.from_bytes(_b64(signature_b64), "big"), e, n).to_bytes(size, "big")
        digest = hashlib.sha256(f"{header_b64}.{claims_b64}".encode()).digest()
        expected = self._SHA256_PREFIX + digest
        padding = b"\x00\x01" + b"\xff" * (size - len(expected) - 3) + b"\x00"
        if signed != padding + expected:
            raise ValueError("bad signature")
        claims = json.loads(_b64(claims_b64))
        if claims.get("iss") != self.issuer:
            raise ValueError(f"issuer {claims.get('iss')!r}, not {self.issuer!r}")
        if claims.get("aud") != self.audience:
            raise ValueError(f"audience {claims.get('aud')!r}, not this app {self.audience!r}")
        if claims.get("exp", 0) < time.time() - 60:
            raise ValueError("expired")
        return claims

    def verify_bearer(self, authorization: str | None) -> dict:
        """`verify` on an `Authorization: Bearer …` header value."""
        if not authorization or not authorization.startswith("Bearer "):
            raise ValueError("no Authorization: Bearer token")
        return self.verify(authorization[len("Bearer ") :])


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(text: str) -> int:
    return int.from_bytes(_b64(text), "big")


class NotificationReceiver:
    """The bot's webhook on `host:port`: each verified notification lands on `queue`."""

    def __init__(self, verifier: TokenVerifier, host: str = "127.0.0.1", port: int = 0):
        self.queue: asyncio.Queue[dict] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        queue, check = self.queue, verifier.verify_bearer

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    check(self.headers.get("Authorization"))
                    envelope = json.loads(body)
                except ValueError as error:
                    self.send_error(401, str(error))
                    return
                self.send_response(202)
                self.end_headers()
                for notification in envelope.get("value", []):
                    loop.call_soon_threadsafe(queue.put_nowait, notification)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self._server.server_address[1]}/calls"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()


def new_auth_token() -> str:
    """A random token to put in the blob and check on each dial."""
    return secrets.token_urlsafe(24)


def command_line(description: str) -> argparse.Namespace:
    """The examples' options: the server, the data directory with the demo app's secret, the
    media socket's port."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--server", default=os.environ.get("SWITCHBOARD_URL", "http://localhost:8080")
    )
    parser.add_argument("--data-dir", default="./switchboard-data")
    parser.add_argument("--media-port", type=int, default=0, help="0: any free port")
    return parser.parse_args()


async def answer_calls(args: argparse.Namespace, name: str, media) -> None:
    """Runs a bot as the demo app: a media socket server calling `media(connection, server)` for
    each call's socket, a webhook, and an answer with app-hosted media for every incoming call.
    Dials without Switchboard's JWT for this app, or without the blob's auth token, are refused
    with 401 before the WebSocket opens."""
    from websockets.asyncio.server import serve

    tenant, app_id, secret = demo_credentials(args.data_dir)
    server = Switchboard(args.server, tenant, app_id, secret)
    verifier = TokenVerifier(server)
    auth_token = new_auth_token()

    def check_dial(connection, request):
        try:
            verifier.verify_bearer(request.headers.get("Authorization"))
        except ValueError as error:
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, f"{error}\n")
        if request.headers.get("X-Switchboard-Auth-Token") != auth_token:
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "wrong auth token\n")
        return None

    async def handler(connection) -> None:
        await media(connection, server)

    async with serve(
        handler,
        "127.0.0.1",
        args.media_port,
        subprotocols=[SUBPROTOCOL],
        process_request=check_dial,
    ) as media_server:
        port = media_server.sockets[0].getsockname()[1]
        blob = create_media_configuration(f"ws://127.0.0.1:{port}/media", auth_token)
        webhook = NotificationReceiver(verifier)
        server.set_calling_webhook(webhook.url)
        print(f"{name} ready: call 'Demo Bot' ({app_id}) from {args.server}/", flush=True)
        while True:
            notification = await webhook.queue.get()
            call = notification.get("resourceData", {})
            if notification.get("changeType") == "created" and call.get("direction") == "incoming":
                print(f"answering call {call['id']}", flush=True)
                await server.call(
                    "POST",
                    f"/communications/calls/{call['id']}/answer",
                    {
                        "acceptedModalities": ["audio"],
                        "mediaConfig": {
                            "@odata.type": "#microsoft.graph.appHostedMediaConfig",
                            "blob": blob,
                        },
                    },
                )
