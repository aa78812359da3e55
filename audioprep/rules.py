"""The Voice API's response codes, messages and rules: the one source of truth.

Everything audioprep knows about what the API accepts lives here: the table of documented
response codes (with the spec's wording), the audio URL and file-name rules, the request
validator, and the deterministic safe-name function. The checker, the inspector, the client and
the sandbox all import from this module; nothing else spells a rule or a message.

Where the published docs contradict themselves, the decision taken is recorded in
``docs/api-notes.md`` and referenced here by its number (``D1``...).
"""

from __future__ import annotations

from enum import IntEnum

#: Largest audio file the API takes. The docs say "5 MB"; we read it as 5,000,000 bytes, the
#: stricter of the two readings, so a file we pass is never refused for size (D2).
MAX_AUDIO_BYTES = 5_000_000

#: Extensions the API accepts for audio files (case-insensitive, D3).
AUDIO_EXTENSIONS = ("mp3", "wav")


class Code(IntEnum):
    """Every ``status_code`` the Voice API documents."""

    SUCCESS = 0
    NOT_AUTHORIZED = -50
    INVALID_JSON = -80
    AUDIO_AND_TTS = -81
    PARAM_NOT_ALLOWED = -82
    DESTINATIONS_TYPE = -83
    NUMBER_MISSING = -84
    DESTINATION_LENGTH = -85
    TOO_MANY_DESTINATIONS = -86
    NO_VALID_DESTINATIONS = -87
    DESTINATIONS_MISSING = -88
    CONTENT_REQUIRED = -89
    TTS_IN_AUDIO_CALL = -90
    AUDIO_IN_TTS_CALL = -91
    SENDER_LENGTH = -92
    MENU_RESPONSE_BOOL = -93
    TTS_TEXT_LENGTH = -95
    TTS_VOICE = -96
    TTS_LANGUAGE = -97
    VOICE_CONTENT_MISSING = -98
    JOB_ID_LENGTH = -99
    JOB_PROBLEM = -101
    CUSTOM_ID_NOT_UNIQUE = -102
    SECONDS_TOO_SMALL = -103
    SECONDS_NOT_INTEGER = -104
    SERVER_TOO_BUSY = -105
    AUDIO_DOWNLOAD_FAILED = -106
    AUDIO_INVALID = -107
    AUDIO_CORRUPTED = -108
    AUDIO_UNPROCESSABLE = -109
    AUDIO_PROBLEM = -110
    AUDIO_URL_SCHEME = -111
    SERVICE_SETTINGS = -112
    CALL_NOT_FOUND = -120
    MESSAGE_ID_INVALID = -121
    TEST_ONE_DESTINATION = -122
    TEST_PERSONAL_NUMBER = -123
    JOB_NOT_FOUND = -125
    API_JOB_ID_INVALID = -126
