#!/usr/bin/env bash
# Draws the app and tray icons (a simple padlock) with ImageMagick. The PNGs are committed; run this only
# to change them. Tauri needs RGBA PNGs, hence PNG32.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# padlock BODY_COLOUR SHACKLE_COLOUR LIFT OUT: drawn at 256 px; LIFT > 0 draws an open padlock.
# The shackle is built from filled shapes (a ring minus its lower half, plus two legs): ImageMagick's
# stroked arcs come with a stray closing line.
padlock() {
    local body="$1" shackle="$2" lift="$3" out="$4"
    local cy=$((96 - lift)) left_end=$((128 - lift))
    [ "$lift" -gt 0 ] && left_end=$((cy + 8))
    convert -size 256x256 xc:none \
        -fill "$shackle" -draw "circle 128,$cy 128,$((cy - 65))" \
        \( -size 256x256 xc:none -fill black -draw "circle 128,$cy 128,$((cy - 39))" \
           -draw "rectangle 0,$cy 255,255" \) -compose DstOut -composite -compose Over \
        -fill "$shackle" -draw "rectangle 63,$cy 89,$left_end" -draw "rectangle 167,$cy 193,130" \
        -fill "$body" -draw "roundrectangle 40,116 216,240 22,22" \
        -fill white -draw "circle 128,168 128,186" -draw "rectangle 120,172 136,210" \
        "PNG32:$out"
}
padlock '#3b5b8c' '#6b7f99' 0 icon.png
for size in 32 128; do convert icon.png -resize "${size}x${size}" "PNG32:${size}x${size}.png"; done
cp icon.png 128x128@2x.png
# Tray: grey closed padlock while waiting; green open padlock when a wanted file is free.
padlock '#5f6b7a' '#5f6b7a' 0 tray-big.png && convert tray-big.png -resize 64x64 PNG32:tray.png
padlock '#1f9d55' '#1f9d55' 22 tray-big.png && convert tray-big.png -resize 64x64 PNG32:tray-free.png
rm -f tray-big.png
