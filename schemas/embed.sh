#!/bin/sh
# embed.sh - turns a JSON file into a C string definition so the library
# does not need the installed schema at run time.
#   sh embed.sh VARIABLE FILE.json > FILE.c
set -e
name=$1
file=$2
echo "/* Generated from $(basename "$file") by schemas/embed.sh. Do not edit:"
echo " * edit the schema and rebuild. */"
echo "extern const char ${name}[];"
echo "const char ${name}[] ="
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$file"
echo "    ;"
