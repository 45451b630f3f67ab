#!/bin/sh
# SPDX-License-Identifier: MIT
# Bash completion (issue 11, must-show 8): bash with completion/appkg sourced and the tools on
# PATH, and a TAB simulated by setting COMP_WORDS/COMP_CWORD and calling the function `complete
# -p` registers for the command. It completes a command, an option (read from --help), the
# argument of an option, and the resources inside the package on the line for --only.
. "$(dirname "$0")/lib.sh"

command -v bash >/dev/null || { echo "SKIP: completion (no bash)"; exit 0; }

cd "$W" || exit 1
mkdir -p src/resources/queries src/resources/pages
echo '{"name": "complete-me"}' >src/manifest.json
echo '{"sql": "select 1"}' >'src/resources/queries/get%2Fcustomers.json'
echo '{"sql": "select 2"}' >'src/resources/queries/by id.json'
echo '{"title": "home"}' >src/resources/pages/home.json
"$B/appkg-pack" src -o app.appkg || echo "FAIL: completion setup (pack)"

# complete_line LINE [CWORD]: TAB in word CWORD of LINE (default: at its end; words split at
# blanks, as bash does, '=' given as its own word); prints what it offers, one per line.
cat >sim.bash <<'EOF'
complete_line() {
	local line=$1 spec fn
	read -ra COMP_WORDS <<<"$line"
	[[ $line == *' ' ]] && COMP_WORDS+=('')
	COMP_CWORD=${2:-$((${#COMP_WORDS[@]} - 1))}
	COMP_LINE=$line
	COMP_POINT=${#line}
	spec=$(complete -p "${COMP_WORDS[0]##*/}") || return 1
	fn=${spec#*-F }
	fn=${fn%% *}
	COMPREPLY=()
	"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | sort
}
EOF

# offers LINE EXPECTED...: what TAB offers at the end of LINE is exactly EXPECTED (one per line);
# offers_in CWORD LINE EXPECTED...: the same with the cursor in word CWORD.
offers() {
	offers_in "" "$@"
}
offers_in() {
	cword=$1 line=$2
	shift 2
	PATH="$B:$PATH" bash --norc --noprofile -c '. "$1" && . ./sim.bash && complete_line "$2" $3' \
		bash "$TOP/completion/appkg" "$line" "$cword" >got 2>err || { echo "bash failed:"; cat err; return 1; }
	printf '%s\n' "$@" | sort >want
	[ -s err ] && { echo "stderr:"; cat err; return 1; }
	cmp -s got want || { echo "'$line<TAB>' offers:"; cat got; echo "expected:"; cat want; return 1; }
}

registered() {
	PATH="$B:$PATH" bash --norc --noprofile -c '. "$1" && for t in "$2"/appkg*; do complete -p "${t##*/}" || exit 1; done' \
		bash "$TOP/completion/appkg" "$B" >/dev/null
}

t completion_registers_every_tool registered
t completion_command offers "appkg pa" pack
t completion_help_command offers "appkg help unp" unpack
t completion_option offers "appkg pack --pa" --password-file
t completion_option_of_tool offers "appkg-verify --req" --require-signature
t completion_option_argument offers "appkg pack --kdf m" moderate
t completion_file_argument offers "appkg pack --password-file app" app.appkg
t completion_bindings_options offers "appkg unpack --bind" --bind-secrets --bindings
t completion_bindings_file_argument offers "appkg-verify --bindings app" app.appkg
t completion_directory_argument offers "appkg unpack -C s" src
t completion_resource_name offers "appkg unpack app.appkg --only que" "queries/by id" "queries/get%2Fcustomers"
t completion_resource_name_before_package offers_in 3 "appkg unpack --only p app.appkg" pages/home
t completion_resource_name_equals offers "appkg-unpack app.appkg --only = q" "queries/by id" "queries/get%2Fcustomers"
