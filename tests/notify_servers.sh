# Starts tests/notify_servers.py in the background (sourced after e2e/lib.sh):
# sets BG_PID (killed by lib.sh's cleanup), SMTP_PORT and HTTP_PORT; the
# servers write $T/mail.txt and $T/hook.json.
/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/notify_servers.py" "$T" > "$T/servers.log" 2>&1 &
BG_PID=$!
for _ in $(seq 1 100); do [ -s "$T/ports" ] && break; sleep 0.1; done
[ -s "$T/ports" ] || fail "the test servers did not start: $(cat "$T/servers.log")"
read -r SMTP_PORT HTTP_PORT < "$T/ports"
