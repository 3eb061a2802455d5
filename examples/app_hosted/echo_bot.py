"""An app-hosted echo bot: it answers every call to its application and plays back what it hears.

Start the server (`make run`), then, from the repository root:

    scripts/example echo_bot

and call "Demo Bot" from the softphone page (http://localhost:8080/): you hear yourself. The bot
signs in as the demo app, sets the app's calling webhook to itself, answers each incoming call
with app-hosted media pointing at its own WebSocket, and sends each 20 ms frame of the call's
audio straight back. Every notification and every media-socket dial is checked against the
server's published keys.
"""

from __future__ import annotations

import asyncio
import json

import switchboard_bot as sb


async def echo(connection, server: sb.Switchboard) -> None:
    """One call's media: every frame of what the bot hears goes straight back."""
    async for message in connection:
        if isinstance(message, str):
            event = json.loads(message)
            if event["type"] == "start":
                print(f"media socket for call {event['callId']} (resumed: {event['resumed']})")
            continue
        frame = sb.parse_audio(message)
        if frame.source_id == 0:
            await connection.send(sb.audio_message(frame.pcm))


if __name__ == "__main__":
    asyncio.run(sb.answer_calls(sb.command_line(__doc__.splitlines()[0]), "Echo bot", echo))
