"""The Voice API's response codes and their messages, as the spec words them.

:class:`Code` names every documented ``status_code``; :data:`RESPONSES` gives each its HTTP
status and the spec's description (:func:`describe` fills in its fields). The validator, the
client and the sandbox answer and read with these, never with their own wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum


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


# --------------------------------------------------------------------------------------------
# The response table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """One row of the documented response table.

    ``template`` is the spec's wording with typographic quotes made straight (D1); placeholders
    are ``str.format`` fields filled by :meth:`message`.
    """

    code: Code
    http_status: int
    template: str
    meaning: str

    def message(self, **fields: object) -> str:
        """The description the API sends, placeholders filled."""
        return self.template.format(**fields) if fields else self.template


_A = "Audio File"
RESPONSES: Mapping[Code, ResponseSpec] = {
    row.code: row
    for row in (
        ResponseSpec(
            Code.SUCCESS,
            200,
            "Job has been queued, Please check the progress via the HTTP Postbacks",
            "The job was accepted.",
        ),
        ResponseSpec(
            Code.NOT_AUTHORIZED, 401, "Not authorized", "The token is missing or invalid."
        ),
        ResponseSpec(
            Code.INVALID_JSON,
            403,
            "Invalid JSON Body",
            "The request sent has some invalid syntax that is breaking the JSON encoding.",
        ),
        ResponseSpec(
            Code.AUDIO_AND_TTS,
            403,
            "Cannot use both Audio File and TTS at the same time",
            "Both 'audio_file_url' and 'tts_text' were given.",
        ),
        ResponseSpec(
            Code.PARAM_NOT_ALLOWED,
            403,
            "{param_name} is not allowed",
            "The parameter passed is not a valid parameter.",
        ),
        ResponseSpec(
            Code.DESTINATIONS_TYPE,
            403,
            "Invalid type for 'destinations'",
            "The destinations element in the request is not an array.",
        ),
        ResponseSpec(
            Code.NUMBER_MISSING,
            403,
            "Missing object called 'number' in 'destinations",
            "A destination has no field called 'number'.",
        ),
        ResponseSpec(
            Code.DESTINATION_LENGTH,
            403,
            "The destination number should have at least have 7 and a maximum of 15 digits",
            "The destination phone number does not meet the length specification.",
        ),
        ResponseSpec(
            Code.TOO_MANY_DESTINATIONS,
            403,
            "There can only be {limit} destination numbers",
            "The job has more destinations than the routing preference allows per job.",
        ),
        ResponseSpec(
            Code.NO_VALID_DESTINATIONS,
            403,
            "There are no valid destination numbers in the 'destinations' parameter",
            "After the phone numbers were sanitized, no valid numbers remained.",
        ),
        ResponseSpec(
            Code.DESTINATIONS_MISSING,
            403,
            "The 'destinations' Object is missing",
            "There must be an element called 'destinations' in the main JSON body.",
        ),
        ResponseSpec(
            Code.CONTENT_REQUIRED,
            403,
            "Required 'tts_text' or 'audio_file_url' in the 'voice_content' object",
            "'voice_content' needs 'tts_text' or 'audio_file_url' to tell TTS from Audio.",
        ),
        ResponseSpec(
            Code.TTS_IN_AUDIO_CALL,
            403,
            "Cannot use 'tts' properties in a call of type 'Audio' in the 'voice_content' object",
            "An Audio call carries a TTS parameter.",
        ),
        ResponseSpec(
            Code.AUDIO_IN_TTS_CALL,
            403,
            "Cannot use 'audio_file_url' in a call of type 'TTS' in the 'voice_content' object",
            "A TTS call carries an Audio parameter.",
        ),
        ResponseSpec(
            Code.SENDER_LENGTH,
            403,
            "The 'sender_id' number {number} should at least have 7 digits and a maximum of"
            " 15 digits",
            "The sender phone number does not meet the required length specification.",
        ),
        ResponseSpec(
            Code.MENU_RESPONSE_BOOL,
            403,
            "Parameter 'enable_menu_response' has to be either 'true' or 'false'",
            "'enable_menu_response' is not a boolean.",
        ),
        ResponseSpec(
            Code.TTS_TEXT_LENGTH,
            403,
            "The 'tts_text' should at least have 7 characters and a maximum of 15",
            "The TTS text is too short (see D6 for the upper bound).",
        ),
        ResponseSpec(
            Code.TTS_VOICE,
            403,
            "The TTS voice selected is invalid. (e.g MAN or WOMAN)",
            "'tts_voice' is not MAN or WOMAN.",
        ),
        ResponseSpec(
            Code.TTS_LANGUAGE, 403, "The TTS language selected is invalid", "Bad 'tts_lang'."
        ),
        ResponseSpec(
            Code.VOICE_CONTENT_MISSING,
            403,
            "The 'voice_content' Object is missing",
            "There must be an element called 'voice_content' in the main JSON body.",
        ),
        ResponseSpec(
            Code.JOB_ID_LENGTH,
            403,
            "The 'job_id' parameter should at least have 7 characters and a maximum of 15",
            "The job id is not 7 to 15 characters long.",
        ),
        ResponseSpec(
            Code.JOB_PROBLEM,
            403,
            "There was a problem with your job: {generic_error}",
            "An error occurred while checking funds or phone number coverage.",
        ),
        ResponseSpec(
            Code.CUSTOM_ID_NOT_UNIQUE,
            403,
            "Custom ID {custom_id} is not unique",
            "The custom_ids passed along with the destinations are not unique.",
        ),
        ResponseSpec(
            Code.SECONDS_TOO_SMALL,
            403,
            "{parameter} should be bigger than 10",
            "The parameter must be more than 10 seconds (no maximum).",
        ),
        ResponseSpec(
            Code.SECONDS_NOT_INTEGER,
            403,
            "{parameter} should be integer",
            "The parameter must be an integer.",
        ),
        ResponseSpec(
            Code.SERVER_TOO_BUSY,
            403,
            "Server too busy",
            "The system is too busy to handle the request; try again later.",
        ),
        ResponseSpec(
            Code.AUDIO_DOWNLOAD_FAILED,
            403,
            f"The {_A} supplied cannot be downloaded to our servers",
            "The audio URL could not be downloaded.",
        ),
        ResponseSpec(
            Code.AUDIO_INVALID,
            403,
            f"The {_A} format supplied is Invalid (must be MP3 or WAV). Also ensure that the URL"
            " has no spaces or invalid characters and also that the File is reachable via the"
            " internet.",
            "Not MP3/WAV, or the URL or file name has characters the API refuses.",
        ),
        ResponseSpec(
            Code.AUDIO_CORRUPTED,
            403,
            f"The {_A} format supplied is corrupted",
            "The MP3 or WAV metadata could not be read.",
        ),
        ResponseSpec(
            Code.AUDIO_UNPROCESSABLE,
            403,
            f"The {_A} supplied cannot be processed. Please contact customer support",
            "There was a problem while downloading the audio file onto the servers.",
        ),
        ResponseSpec(
            Code.AUDIO_PROBLEM,
            403,
            f"There was some problems with the {_A}",
            "Downloading the audio or processing its metadata failed.",
        ),
        ResponseSpec(
            Code.AUDIO_URL_SCHEME,
            403,
            "The 'audio_file_url' must be valid (starting with http or https)",
            "The audio URL must start with http:// or https:// and name a host.",
        ),
        ResponseSpec(
            Code.SERVICE_SETTINGS,
            403,
            "Cannot establish service settings",
            "There is some problem in the provider's VoIP system.",
        ),
        ResponseSpec(
            Code.CALL_NOT_FOUND,
            403,
            "Could not load the call details",
            "The message_id is well-formed but no call has it.",
        ),
        ResponseSpec(
            Code.MESSAGE_ID_INVALID,
            403,
            "Could not verify the Call Message ID",
            "The message_id is not numeric and/or not 20 characters long.",
        ),
        ResponseSpec(
            Code.TEST_ONE_DESTINATION,
            403,
            "Only 1 Destination allowed, when using a TEST Account",
            "A TEST account may call only one number per job.",
        ),
        ResponseSpec(
            Code.TEST_PERSONAL_NUMBER,
            403,
            "Only the personal mobile phone number {personal_number} can used when using a TEST"
            " Account",
            "A TEST account may call only the account holder's own mobile number.",
        ),
        ResponseSpec(
            Code.JOB_NOT_FOUND,
            403,
            "Could not load the Job details",
            "The api_job_id is 36 characters long but no job has it.",
        ),
        ResponseSpec(
            Code.API_JOB_ID_INVALID,
            403,
            "Could not verify the api_job_id",
            "The api_job_id is not 36 characters long.",
        ),
    )
}

#: HTTP-level answers that carry no ``status_code`` of their own.
HTTP_MESSAGES: Mapping[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Server Error",
    503: "Service Unavailable",
}


def describe(code: Code, **fields: object) -> str:
    """The API's description for ``code`` with its placeholders filled."""
    return RESPONSES[code].message(**fields)


def http_status(code: Code) -> int:
    """The HTTP status the API sends with ``code``."""
    return RESPONSES[code].http_status
