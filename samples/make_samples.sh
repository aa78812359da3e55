#!/usr/bin/env bash
# Regenerates the bundled samples (needs espeak-ng, and ffmpeg on PATH or in $FFMPEG; Debian: apt-get install
# espeak-ng ffmpeg). The committed files were made with espeak-ng 1.51 and ffmpeg; re-running
# gives near-identical, not byte-identical, files.
set -euo pipefail
FFMPEG=${FFMPEG:-ffmpeg}
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say() { espeak-ng -v en-gb -s 150 -w "$tmp/$1.wav" "$2"; }

say welcome "Welcome to Harbour Clinic. Your call is important to us."
say hours "Our opening hours are Monday to Friday, eight in the morning until six in the evening."
say reminder "This is a reminder of your appointment tomorrow at ten thirty. Press one to confirm."
say callback "We tried to reach you earlier today. Please call us back at your convenience."
say payment "Your payment is due on the first of the month. Thank you for banking with us."

# Phone-ready: 16 kHz mono 48 kbps CBR MP3, no tags.
"$FFMPEG" -v error -y -i "$tmp/welcome.wav" -ar 16000 -ac 1 -c:a libmp3lame -b:a 48k \
  -map_metadata -1 -fflags +bitexact welcome.mp3
# Phone-ready: 8 kHz mono 16-bit PCM WAV, canonical header.
"$FFMPEG" -v error -y -i "$tmp/hours.wav" -ar 8000 -ac 1 -c:a pcm_s16le \
  -map_metadata -1 -fflags +bitexact opening_hours.wav
# Broken name (spaces, parentheses), hi-fi stereo 44.1 kHz with a title tag.
"$FFMPEG" -v error -y -i "$tmp/reminder.wav" -ar 44100 -ac 2 -c:a libmp3lame -b:a 128k \
  -metadata title="Reminder" "Appointment Reminder (final).mp3"
# Wrong format: Ogg Vorbis.
"$FFMPEG" -v error -y -i "$tmp/callback.wav" -c:a libvorbis -q:a 3 callback_notice.ogg
# Truncated: a 128 kbps MP3 cut at 55 % of its bytes; its Info header still claims full length.
"$FFMPEG" -v error -y -i "$tmp/payment.wav" -ar 44100 -ac 1 -c:a libmp3lame -b:a 128k "$tmp/p.mp3"
size=$(stat -c %s "$tmp/p.mp3")
head -c $((size * 55 / 100)) "$tmp/p.mp3" > payment_due.mp3
