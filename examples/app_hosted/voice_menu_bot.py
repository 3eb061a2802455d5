"""An app-hosted voice-menu bot: it answers, speaks a menu, acts on keys, and stops talking the
moment the caller talks over it.

Start the server (`make run`), then, from the repository root:

    scripts/example voice_menu_bot

and call "Demo Bot" from the softphone page (http://localhost:8080/). Press 1 for a tone, 2 to
hear yourself, 3 to hang up — or just start talking while it speaks.

How it uses the media socket: it sends each prompt as one big audio message followed by a
`mark` (Switchboard plays it in real time and answers `markPlayed` when it has been heard), takes
keys from `dtmf` messages, and watches the level of what it hears: when the caller speaks while a
prompt plays, it sends `clear` (playback stops within one frame; `cleared` lists the marks that
never played) and listens until the caller has been quiet for a moment.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import switchboard_bot as sb

PROMPTS = Path(__file__).resolve().parents[2] / "assets" / "prompts"
#: Louder than this (dBFS) for BARGE_IN_FRAMES frames in a row is the caller talking.
BARGE_IN_DBFS, BARGE_IN_FRAMES = -38.0, 4
#: Quiet for this many frames after an interruption: say the menu again.
QUIET_FRAMES = 75
#: How long "press 2" records the caller, in frames.
RECORD_FRAMES = 150


class Menu:
    """One call's conversation over its media socket."""

    def __init__(self, connection, server: sb.Switchboard):
        self.connection = connection
        self.server = server
        self.call_id = ""
        self.speaking: set[str] = set()  # marks sent and not yet played
        self.loud = 0
        self.quiet = 0
        self.interrupted = False
        self.recording: list[bytes] | None = None
        self.prompts = {name: sb.read_wav(PROMPTS / f"{name}.wav") for name in (
            "voice-menu", "voice-menu-listening", "voice-menu-record", "voice-menu-again",
            "demo-invalid", "demo-goodbye")}

    async def say(self, pcm: bytes, mark: str) -> None:
        """Queues `pcm` in one message, then a mark that comes back when it has been heard."""
        await self.connection.send(sb.audio_message(pcm))
        await self.connection.send(json.dumps({"type": "mark", "name": mark}))
        self.speaking.add(mark)

    async def menu(self, again: bool = False) -> None:
        if again:
            await self.say(self.prompts["voice-menu-again"], "again")
        await self.say(self.prompts["voice-menu"], "menu")

    async def on_control(self, event: dict) -> None:
        kind = event["type"]
        if kind == "start":
            self.call_id = event["callId"]
            print(f"call {self.call_id}: media socket open", flush=True)
            await self.menu()
        elif kind == "markPlayed":
            self.speaking.discard(event["name"])
            if event["name"] == "beep":
                self.recording = []
            elif event["name"] in ("tone", "playback"):
                await self.menu(again=True)
            elif event["name"] == "goodbye":
                await self.server.call("DELETE", f"/communications/calls/{self.call_id}")
        elif kind == "cleared":
            self.speaking.clear()
        elif kind == "dtmf":
            await self.on_key(event["digit"])

    async def on_key(self, digit: str) -> None:
        await self.connection.send(json.dumps({"type": "clear"}))
        self.speaking.clear()
        self.interrupted = False
        print(f"call {self.call_id}: key {digit}", flush=True)
        if digit == "1":
            await self.say(sb.tone(440, 1.0), "tone")
        elif digit == "2":
            await self.say(self.prompts["voice-menu-record"], "record")
            await self.say(sb.tone(1000, 0.25), "beep")
        elif digit == "3":
            await self.say(self.prompts["demo-goodbye"], "goodbye")
        else:
            await self.say(self.prompts["demo-invalid"], "invalid")
            await self.menu(again=True)

    async def on_audio(self, frame: sb.Frame) -> None:
        if frame.source_id != 0:
            return
        if self.recording is not None:
            self.recording.append(frame.pcm)
            if len(self.recording) == RECORD_FRAMES:
                recorded, self.recording = b"".join(self.recording), None
                await self.say(recorded, "playback")
            return
        talking = not (frame.flags & sb.FLAG_SILENCE) and sb.level_dbfs(frame.pcm) > BARGE_IN_DBFS
        self.loud = self.loud + 1 if talking else 0
        self.quiet = 0 if talking else self.quiet + 1
        if self.speaking and self.loud >= BARGE_IN_FRAMES:
            # Barge-in: stop talking now, and listen.
            await self.connection.send(json.dumps({"type": "clear"}))
            self.speaking.clear()
            self.interrupted = True
            print(f"call {self.call_id}: caller talked over the menu; stopped", flush=True)
        elif self.interrupted and self.quiet >= QUIET_FRAMES:
            self.interrupted = False
            await self.say(self.prompts["voice-menu-listening"], "listening")
            await self.menu(again=True)


async def voice_menu(connection, server: sb.Switchboard) -> None:
    """One call's media: the menu, until the call ends."""
    menu = Menu(connection, server)
    async for message in connection:
        if isinstance(message, str):
            await menu.on_control(json.loads(message))
        else:
            await menu.on_audio(sb.parse_audio(message))


if __name__ == "__main__":
    args = sb.command_line(__doc__.splitlines()[0])
    asyncio.run(sb.answer_calls(args, "Voice-menu bot", voice_menu))
