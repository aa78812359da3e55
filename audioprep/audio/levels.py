"""The levels a phone-ready prompt is judged against and made to reach.

Inspection warns about a prompt far from these; ``audioprep fix`` and ``run`` normalise to
them (``--loudness``, ``--true-peak``, ``--max-gain`` take their defaults from here).
"""

#: Integrated loudness a prompt is normalised to (LUFS).
TARGET_LUFS = -19.0
#: The true-peak ceiling a normalised prompt stays under (dBTP).
TRUE_PEAK_DBTP = -1.0
#: How far from the target a prompt may measure and still count as on target (LU).
LOUDNESS_TOLERANCE_LU = 1.0
#: The most gain normalising adds (dB): to -19 LUFS, sources quieter than -59 LUFS are
#: refused. Speech recorded far too quietly still measures around -35..-55 LUFS; room noise or
#: a muted microphone measures -60 and below, and raising it makes loud hiss (a -70 dBFS noise
#: file was raised by +49.7 dB and judged "ok").
MAX_GAIN_DB = 40.0
#: The most ``--max-gain`` may allow (dB).
MAX_GAIN_CEILING_DB = 60.0
