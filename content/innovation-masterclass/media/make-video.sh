#!/usr/bin/env bash
# make-video.sh: re-make the Innovation Masterclass introduction video from text.
#
# What it makes (all in this folder, next to this script):
#   intro.mp4         640x360 H.264 video with AAC narration, well under 3 MB
#   intro.en.vtt      WebVTT captions: one cue per narrated sentence, timed from
#                     the length of each sentence's own narration
#   intro-poster.png  the image shown before the video plays (the title slide)
#
# How it works:
#   1. Each slide (a title and a short line of text) is drawn to a PNG with
#      ImageMagick.
#   2. Each sentence of the narration is spoken with espeak-ng (British English
#      voice) into its own WAV file, then padded with a short silence.
#   3. ffprobe measures every WAV. A caption cue starts where its sentence starts
#      and ends where the spoken sentence ends (before the padding).
#   4. ffmpeg joins the sentences into one soundtrack, shows each slide for as
#      long as its sentences last, and encodes the MP4.
#
# The caption text is the narration text, word for word. If you change a
# sentence below, change the transcript in
# modules/00-start/020-introduction-video.md to match, then run this script.
#
# Needs: bash, awk, ImageMagick (convert), espeak-ng, ffmpeg and ffprobe, and
# the DejaVu fonts. On Debian or Ubuntu:
#   apt-get install -y imagemagick espeak-ng ffmpeg fonts-dejavu-core
#
# Usage: bash content/innovation-masterclass/media/make-video.sh
#        (set KEEP_WORK=1 to keep the working files for inspection)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
if [[ "${KEEP_WORK:-0}" == 1 ]]; then echo "Working files kept in $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi

VOICE="en-gb"      # espeak-ng voice
SPEED=145          # words per minute
GAP=0.6            # seconds of silence after each sentence
WIDTH=640
HEIGHT=360
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
FONT_BOLD=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
BLUE='#1d70b8'

# One entry per slide: "title|text shown on the slide".
SLIDES=(
  "Innovation Masterclass|Small changes, safe to try."
  "What is a small change?|Something your team can try within a few weeks, with what it already has."
  "The course|Six modules, about three hours. Spot problems, find ideas, choose one change and test it fairly."
  "Your team project|Share ideas. Agree one change. Try it. Measure it. Reflect together."
  "Every result is learning|Publish a short case study. Every idea is kept and credited."
)

# One entry per sentence: "slide number|sentence". The sentences, in order,
# are the full narration, the caption text and the lesson's transcript.
NARRATION=(
  "1|Welcome to the Innovation Masterclass."
  "1|This course helps you and your team try small changes that make public services work better."
  "2|A small change is one your team can try within a few weeks, using what it already has."
  "2|For example, a clearer letter, a shorter meeting, or a better handover between teams."
  "3|The course has six modules, and takes about three hours in short lessons."
  "3|You will learn to spot problems, come up with ideas, choose one small change, and test it fairly."
  "4|Alongside the course, you will work on a project with your team."
  "4|You will share ideas, agree one change, try it, measure what happens, and reflect on it together."
  "5|At the end, your team will publish a short case study."
  "5|Every idea is kept and credited, whether it worked or not."
  "5|Every result is learning. Let's begin."
)

duration() {  # seconds, as a decimal, of a media file
  ffprobe -v error -show_entries format=duration -of default=noprint_wrappers=1:nokey=1 "$1"
}

timestamp() {  # 12.3456 -> 00:00:12.346
  awk -v t="$1" 'BEGIN { ms = int(t * 1000 + 0.5); h = int(ms / 3600000); ms -= h * 3600000;
    m = int(ms / 60000); ms -= m * 60000; s = int(ms / 1000); ms -= s * 1000;
    printf "%02d:%02d:%02d.%03d", h, m, s, ms }'
}

add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a + b }'; }

# 1. Slides. Every slide is written as 8-bit RGB (PNG24): ffmpeg's concat
# demuxer needs all images in the same pixel format, or it loses their timing.
n=0
for slide in "${SLIDES[@]}"; do
  n=$((n + 1))
  title="${slide%%|*}"
  text="${slide#*|}"
  convert -size "${WIDTH}x${HEIGHT}" "xc:${BLUE}" \
    \( -size 560x -background none -fill white -font "$FONT_BOLD" -pointsize 34 "caption:${title}" \) \
    -gravity northwest -geometry +40+48 -composite \
    \( -size 560x -background none -fill white -font "$FONT" -pointsize 24 "caption:${text}" \) \
    -gravity northwest -geometry +40+150 -composite \
    -fill white -font "$FONT" -pointsize 14 -gravity southwest \
    -annotate +40+22 "Innovation Masterclass  |  ${n} of ${#SLIDES[@]}" \
    -alpha off -depth 8 "PNG24:$WORK/slide-${n}.png"
done
cp "$WORK/slide-1.png" "$HERE/intro-poster.png"

# 2 and 3. Narration, measured sentence by sentence, and the captions.
VTT="$WORK/intro.en.vtt"
printf 'WEBVTT\n\n' > "$VTT"
: > "$WORK/audio.txt"
declare -A SLIDE_SECONDS
clock=0
i=0
for entry in "${NARRATION[@]}"; do
  i=$((i + 1))
  slide="${entry%%|*}"
  sentence="${entry#*|}"
  espeak-ng -v "$VOICE" -s "$SPEED" -w "$WORK/say-${i}.wav" "$sentence"
  spoken="$(duration "$WORK/say-${i}.wav")"
  ffmpeg -v error -y -i "$WORK/say-${i}.wav" -af "apad=pad_dur=${GAP}" "$WORK/part-${i}.wav"
  padded="$(duration "$WORK/part-${i}.wav")"
  printf '%d\n%s --> %s\n%s\n\n' "$i" "$(timestamp "$clock")" "$(timestamp "$(add "$clock" "$spoken")")" \
    "$sentence" >> "$VTT"
  printf "file '%s'\n" "$WORK/part-${i}.wav" >> "$WORK/audio.txt"
  SLIDE_SECONDS[$slide]="$(add "${SLIDE_SECONDS[$slide]:-0}" "$padded")"
  clock="$(add "$clock" "$padded")"
done
ffmpeg -v error -y -f concat -safe 0 -i "$WORK/audio.txt" -c copy "$WORK/narration.wav"

# 4. Slides for as long as their sentences last, then the video.
: > "$WORK/slides.txt"
for n in $(seq 1 "${#SLIDES[@]}"); do
  printf "file '%s'\nduration %s\n" "$WORK/slide-${n}.png" "${SLIDE_SECONDS[$n]}" >> "$WORK/slides.txt"
done
# The concat demuxer needs the last image named again so its duration is kept.
printf "file '%s'\n" "$WORK/slide-${#SLIDES[@]}.png" >> "$WORK/slides.txt"

ffmpeg -v error -y \
  -f concat -safe 0 -i "$WORK/slides.txt" \
  -i "$WORK/narration.wav" \
  -map 0:v -map 1:a -t "$clock" \
  -vf "fps=10,scale=${WIDTH}:${HEIGHT},format=yuv420p" \
  -c:v libx264 -preset veryslow -tune stillimage -crf 28 -g 100 \
  -c:a aac -b:a 48k -ac 1 -ar 22050 \
  -movflags +faststart -map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  "$WORK/intro.mp4"

mv "$WORK/intro.mp4" "$HERE/intro.mp4"
mv "$VTT" "$HERE/intro.en.vtt"
echo "Made $HERE/intro.mp4 ($(stat -c %s "$HERE/intro.mp4") bytes, $(timestamp "$clock")), intro.en.vtt and intro-poster.png"
