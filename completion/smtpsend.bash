# bash completion for smtpsend(1)                        -*- shell-script -*-
#
# The option names come from the binary itself (smtpsend --help=options),
# so the list never falls behind the program.  Values: files for the
# options that take one, fixed words for the enumerated ones, accounts
# from the config file for -A/--account.

_smtpsend_accounts()
{
	local f
	for f in "${SMTPSEND_CONFIG:-}" "${XDG_CONFIG_HOME:-$HOME/.config}/smtpsend/config" /etc/smtpsend.conf; do
		if [[ -n $f && -r $f ]]; then
			awk '$1 == "account" { print $2 }' "$f" 2>/dev/null
			return
		fi
	done
}

_smtpsend()
{
	local cur prev words cword
	_init_completion -n = || return

	case $prev in
	--tls)
		COMPREPLY=($(compgen -W 'auto starttls implicit none' -- "$cur"))
		return ;;
	--tls-min)
		COMPREPLY=($(compgen -W '1.2 1.3' -- "$cur"))
		return ;;
	--priority)
		COMPREPLY=($(compgen -W 'high normal low' -- "$cur"))
		return ;;
	--dsn-ret)
		COMPREPLY=($(compgen -W 'full hdrs' -- "$cur"))
		return ;;
	--dsn-notify)
		COMPREPLY=($(compgen -W 'never success failure delay' -- "$cur"))
		return ;;
	--on-rcpt-reject)
		COMPREPLY=($(compgen -W 'abort continue' -- "$cur"))
		return ;;
	-A | --account)
		COMPREPLY=($(compgen -W "$(_smtpsend_accounts)" -- "$cur"))
		return ;;
	--host)
		_known_hosts_real -- "$cur"
		return ;;
	-C | --config | -a | --attach | --inline | --html | --body-file | \
	--cafile | --cert | --key | --cert-password-file | --password-file | \
	--aliases | --log)
		_filedir
		return ;;
	--tls-session-cache | --pickup-dir | --queue-on-failure | --flush)
		_filedir -d
		return ;;
	--port | --timeout | --helo | --password-fd | --password-env | \
	--password-cmd | --oauth2-token-cmd | -u | --user | -s | --subject | \
	--tls-pin | --tls-servername | --tls-priority | --envid | -H | \
	--header | --local-domain | --full-name | --sasl-service | --auth | \
	--charset | --attach-type | --attach-name | --max-age)
		return ;;
	esac

	if [[ $cur == --syslog=* ]]; then
		COMPREPLY=($(compgen -P --syslog= -W 'mail user daemon local0 local1 local2 local3 local4 local5 local6 local7' -- "${cur#--syslog=}"))
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$("${words[0]}" --help=options 2>/dev/null)" -- "$cur"))
		return
	fi
}
complete -F _smtpsend smtpsend
