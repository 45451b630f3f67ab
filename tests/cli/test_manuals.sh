#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual pages (issue 11, must-show 8). Every tool in $B (appkg and each appkg-*, found by
# glob so that a new tool without a page fails) has man/TOOL.1 in the shape PREAMBLE asks for,
# `man -l` renders it without a warning, and the long options its --help prints are exactly the
# `\-\-x` of the page's OPTIONS section. appkg.1 names every command; appkg.5 renders. `make
# install` puts the pages and the bash completion under PREFIX/share, where `man` finds them, and
# `make uninstall` removes them.
. "$(dirname "$0")/lib.sh"
MAN=$TOP/man

# renders PAGE: man -l formats it, with no warning from groff, to a non-empty page.
renders() {
	command -v man >/dev/null || { echo "man is not installed (.ci/install-deps: man-db)"; return 1; }
	warnings=$(MANWIDTH=80 man -l --warnings "$1" 2>&1 >"$W/page") || { echo "man -l $1 failed: $warnings"; return 1; }
	[ -z "$warnings" ] || { echo "man -l --warnings $1:"; echo "$warnings"; return 1; }
	[ -s "$W/page" ] || { echo "man -l $1 printed nothing"; return 1; }
	warnings=$(groff -man -ww -z "$1" 2>&1)
	[ -z "$warnings" ] || { echo "groff -ww $1:"; echo "$warnings"; return 1; }
}

# shape PAGE TITLE SECTION: .TH line and the sections every page of that section has.
shape() {
	grep -q "^\.TH $2 $3 [0-9-]* \"appkg [0-9.]*\" \"appkg manual\"$" "$1" || { echo "$1: no '.TH $2 $3 DATE \"appkg VERSION\" \"appkg manual\"'"; return 1; }
	if [ "$3" = 1 ]; then
		sections="NAME SYNOPSIS DESCRIPTION OPTIONS EXIT_STATUS EXAMPLES SEE_ALSO"
	else
		sections="NAME DESCRIPTION SEE_ALSO"
	fi
	for s in $sections; do
		grep -q "^\.SH \"\{0,1\}$(echo "$s" | tr _ ' ')\"\{0,1\}$" "$1" || { echo "$1: no .SH $s"; return 1; }
	done
}

# The long options: of --help (every --x it prints), and of a page's OPTIONS section.
help_options() {
	"$1" --help 2>/dev/null | grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u
}
page_options() {
	sed -n '/^\.SH "\{0,1\}OPTIONS/,/^\.SH /p' "$1" | sed 's/\\-/-/g' | grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u
}

tool_page() { # tool_page TOOL: its page renders, has the shape, and lists the options of --help
	page=$MAN/$1.1
	[ -f "$page" ] || { echo "$1 has no manual page man/$1.1"; return 1; }
	renders "$page" || return 1
	shape "$page" "$(echo "$1" | tr a-z A-Z)" 1 || return 1
	"$B/$1" --help >/dev/null 2>&1 || { echo "$1 --help did not exit 0"; return 1; }
	help_options "$B/$1" >"$W/help.opts"
	page_options "$page" >"$W/page.opts"
	[ -s "$W/help.opts" ] || { echo "$1 --help prints no long option"; return 1; }
	missing=$(comm -23 "$W/help.opts" "$W/page.opts" | tr '\n' ' ')
	extra=$(comm -13 "$W/help.opts" "$W/page.opts" | tr '\n' ' ')
	[ -z "$missing" ] || echo "man/$1.1 OPTIONS lacks what $1 --help prints: $missing"
	[ -z "$extra" ] || echo "man/$1.1 OPTIONS has what $1 --help does not print: $extra"
	[ -z "$missing$extra" ]
}

front_lists_commands() { # appkg.1 names every appkg-* tool, in COMMANDS and as appkg-NAME(1)
	sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$MAN/appkg.1" >"$W/commands"
	for t in "$B"/appkg-*; do
		name=${t##*/appkg-}
		grep -q "^\.B $name$" "$W/commands" || { echo "man/appkg.1 COMMANDS lacks $name"; return 1; }
		grep -q "^\.BR appkg\\\\-$name (1)" "$MAN/appkg.1" || { echo "man/appkg.1 lacks appkg\\-$name (1)"; return 1; }
	done
}

format_page() {
	renders "$MAN/appkg.5" && shape "$MAN/appkg.5" APPKG 5 || return 1
	grep -q 'spec/appkg\\-format.md' "$MAN/appkg.5" || { echo "appkg.5 does not point to the spec"; return 1; }
}

# make install into a DESTDIR with the tools already built (-o all: nothing is rebuilt), then
# man finds each page by name and the completion is where bash-completion looks for each tool.
install_uninstall() {
	root=$W/root
	make -s -o all -C "$TOP" BUILD="$APPKG_BUILD" DESTDIR="$root" PREFIX=/usr install >"$W/make" 2>&1 || { cat "$W/make"; return 1; }
	for t in "$B"/appkg*; do
		name=${t##*/}
		[ -f "$root/usr/share/man/man1/$name.1" ] || { echo "not installed: man1/$name.1"; return 1; }
		man -M "$root/usr/share/man" -w "$name" >/dev/null 2>&1 || { echo "man -M … -w $name finds nothing"; return 1; }
		[ -f "$root/usr/share/bash-completion/completions/$name" ] || { echo "no completion for $name"; return 1; }
	done
	[ -f "$root/usr/share/man/man5/appkg.5" ] || { echo "not installed: man5/appkg.5"; return 1; }
	make -s -o all -C "$TOP" BUILD="$APPKG_BUILD" DESTDIR="$root" PREFIX=/usr uninstall >"$W/make" 2>&1 || { cat "$W/make"; return 1; }
	left=$(find "$root" ! -type d)
	[ -z "$left" ] || { echo "left after make uninstall:"; echo "$left"; return 1; }
}

for t in "$B"/appkg*; do
	name=${t##*/}
	t "manual_$name" tool_page "$name"
done
t manual_front_lists_every_command front_lists_commands
t manual_format_page format_page
t manual_make_install_uninstall install_uninstall
