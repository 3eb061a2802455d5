"""An online meeting created and joined through Switchboard, driven by the official msgraph-sdk.

Run by tests/meeting_sdk_browser.rs, which starts the server and the bot's webhook. Protocol on
stdio: it reads one JSON line {"base", "tenant", "app_id", "secret", "organizer", "hook"}, runs
the scenario asserting as it goes, prints `SDK-RESULT {...}` and exits 0 (a failed assertion: a
traceback and exit 1).

Scenario: the app creates an online meeting for the organizer with a subject, start and end and
a required passcode; reads it back by id; a join with a wrong passcode is refused with a Graph
error; the bot joins by meetingInfo (join id + passcode). The Rust side then joins a person from
the meeting's joinWebUrl in Chromium.
"""

import asyncio
import datetime
import json
import sys
import urllib.parse
import urllib.request

from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.call import Call
from msgraph.generated.models.join_meeting_id_meeting_info import JoinMeetingIdMeetingInfo
from msgraph.generated.models.join_meeting_id_settings import JoinMeetingIdSettings
from msgraph.generated.models.modality import Modality
from msgraph.generated.models.online_meeting import OnlineMeeting
from msgraph.generated.models.service_hosted_media_config import ServiceHostedMediaConfig


class FixedToken(AccessTokenProvider):
    """The app's access token, fetched once (the SDK asks for it on every request)."""

    def __init__(self, token):
        self.token = token
        self.hosts = AllowedHostsValidator([])

    async def get_authorization_token(self, uri, additional_authentication_context={}):
        return self.token

    def get_allowed_hosts_validator(self):
        return self.hosts


def graph_client(base, tenant, app_id, secret):
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": secret,
            "scope": "https://graph.microsoft.com/.default",
        }
    ).encode()
    with urllib.request.urlopen(f"{base}/{tenant}/oauth2/v2.0/token", data=form) as reply:
        token = json.load(reply)["access_token"]
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(FixedToken(token)))
    adapter.base_url = f"{base}/v1.0"  # set before the client is built, as the SDK requires
    return GraphServiceClient(request_adapter=adapter)


def join_call(setup, join_id, passcode):
    return Call(
        callback_uri=setup["hook"],
        requested_modalities=[Modality.Audio],
        media_config=ServiceHostedMediaConfig(),
        meeting_info=JoinMeetingIdMeetingInfo(join_meeting_id=join_id, passcode=passcode),
        tenant_id=setup["tenant"],
    )


async def scenario(setup):
    graph = graph_client(setup["base"], setup["tenant"], setup["app_id"], setup["secret"])
    meetings = graph.users.by_user_id(setup["organizer"]).online_meetings
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    created = await meetings.post(
        OnlineMeeting(
            subject="SDK stand-up",
            start_date_time=start,
            end_date_time=start + datetime.timedelta(hours=1),
            join_meeting_id_settings=JoinMeetingIdSettings(is_passcode_required=True),
        )
    )
    assert created.id and created.join_web_url, created
    assert created.subject == "SDK stand-up", created.subject
    assert created.start_date_time == start, (created.start_date_time, start)
    settings = created.join_meeting_id_settings
    assert settings.is_passcode_required and settings.passcode, settings

    read = await meetings.by_online_meeting_id(created.id).get()
    assert read.join_web_url == created.join_web_url, read.join_web_url
    assert read.join_meeting_id_settings.join_meeting_id == settings.join_meeting_id

    try:
        await graph.communications.calls.post(join_call(setup, settings.join_meeting_id, "000"))
        raise AssertionError("a wrong passcode was accepted")
    except APIError as refused:
        assert refused.response_status_code == 400, refused.response_status_code
        # The SDK raises its ODataError (an APIError) carrying the Graph error body.
        error = getattr(refused, "error", None)
        wrong_passcode = [getattr(error, "code", None), getattr(error, "message", None)]

    joined = await graph.communications.calls.post(
        join_call(setup, settings.join_meeting_id, settings.passcode)
    )
    assert joined.id, joined
    return {
        "meeting": created.id,
        "join_web_url": created.join_web_url,
        "call": joined.id,
        "wrong_passcode": wrong_passcode,
    }


def main():
    setup = json.loads(sys.stdin.readline())
    result = asyncio.run(asyncio.wait_for(scenario(setup), 60))
    print("SDK-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
