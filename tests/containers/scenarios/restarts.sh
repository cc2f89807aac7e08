# shellcheck shell=bash
# shellcheck disable=SC2154  # app_* come from ct_app_stats, CT_*/LETTA*_PORT from tests/scripts/containers.sh
# Scenarios of Letta restarting under running stacks (sourced by tests/scripts/containers.sh;
# see scenarios/startup.sh for how scenarios are built and added).

# 4. Letta restarts while the app runs: what the app's requests through letta:8283 see. Until
#    the app stack's gate has noticed Letta is gone (probe interval x fall: up to 15 s), a new
#    connection is forwarded to a letta-server that is not there and closed at once; from then on
#    new connections are held (--forward-hold, 10 s) and served when the gate sees Letta up again.
sc_letta_restart() {
  ct_scenario_begin "4. Letta restarted while the app runs"
  app_serving() { ct_app_stats "$(awk -v t="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t - 2 }')"; [ "$app_total" -ge 3 ] && [ "$app_failed" = 0 ]; }
  ct_wait "the app is being served" 20 app_serving
  ct_mark "docker stop letta-server"
  "$DOCKER" stop letta-server >/dev/null
  local t_stop=$EPOCHREALTIME
  # (grep, not a JSON parser: Letta goes back up as soon as this sees it, so it must be quick)
  dev_gate_sees_letta_down() { curl -s -m 3 "$(DEV_GATE_URL)/readyz" | grep -o '"letta":{[^}]*}' | grep -q '"status":"down"'; }
  ct_wait "the app stack's gate reports letta down" 40 dev_gate_sees_letta_down
  local t_down=$EPOCHREALTIME
  ct_mark "the gate reports letta down; docker start letta-server"
  "$DOCKER" start letta-server >/dev/null
  dev_gate_ready() { [ "$(ct_http "$(DEV_GATE_URL)/readyz" | cut -d' ' -f1)" = 200 ]; }
  ct_wait "the app stack's gate is ready again" 40 dev_gate_ready
  ct_mark "the gate is ready again"
  local t_up=$EPOCHREALTIME
  app_done() { ct_app_stats "$t_up"; [ "$app_total" -ge 4 ]; }
  ct_wait "the app's requests after the restart" 30 app_done
  # What each failed request was, by when it started and how long it took: before the gate had
  # seen Letta down, a new connection is forwarded and closed at once (or when the lookup of the
  # stopped container's name gives up); once it has, it is held, and closed only after the
  # whole --forward-hold (10 s; the gate needs rise 2 x interval 5 s to see Letta back, so a
  # request held from the moment Letta is seen down can run out). Anything else is a failure.
  local f early=0 timeouts=0 late=0
  ct_app_stats "$t_stop" "$t_up"
  for f in $app_fails; do
    if [ "${f#*:}" -ge 9500 ]; then timeouts=$((timeouts + 1))
    elif ct_before "${f%%:*}" "$t_down"; then early=$((early + 1))
    else late=$((late + 1)); fi
  done
  ct_note "the app's $app_total requests from the stop until the gate was ready again ($(ct_secs_between "$t_stop" "$t_up")s): $early closed at once before the gate saw Letta down ($(ct_secs_between "$t_stop" "$t_down")s after the stop), $app_held held then served (longest $app_max_ms ms), $timeouts held for the whole hold and closed, $app_ok served at once"
  ct_check "requests were held while Letta was down, then served ($app_held)" test "$app_held" -ge 1
  ct_check "no request failed otherwise once the gate had seen Letta down ($late did)" test "$late" = 0
  ct_app_stats "$t_up"
  ct_check "after the restart every request is served ($app_total, $app_failed failed)" test "$app_failed" = 0 -a "$app_total" -ge 1
  ct_scenario_end
}
ct_secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# 5. letta-server comes back with a new address, and another container holds its old one: the
#    shared stack's nginx must follow the name (resolver 127.0.0.11 with a variable upstream in
#    compose/nginx/letta-sse.conf), not keep the address it resolved at start.
sc_nginx_follows_letta() {
  ct_scenario_begin "5. letta-server restarted with a new address"
  local old new
  old="$(ct_ip letta-server)"
  ct_check "nginx reaches Letta before the restart" nginx_serves_letta
  ct_mark "docker stop letta-server ($old)"
  "$DOCKER" stop letta-server >/dev/null
  ct_mark "lgtest-impostor takes $old"
  # Another container on Letta's old address, answering HTTP on 8283 (404 for /v1/health/).
  "$DOCKER" run -d --init --name lgtest-impostor --label "$CT_LABEL=1" --network letta-network --ip "$old" \
    --entrypoint python3 thoth:dev -u -m http.server 8283 >/dev/null || ct_fail "could not start the impostor on $old"
  impostor_listens() { "$DOCKER" logs lgtest-impostor 2>&1 | grep -q 'Serving HTTP'; }
  ct_wait "the impostor listens on $old:8283" 20 impostor_listens
  ct_mark "docker start letta-server"
  "$DOCKER" start letta-server >/dev/null
  local t0=$EPOCHREALTIME
  new="$(ct_ip letta-server)"
  ct_check "letta-server has a new address ($old -> $new)" test -n "$new" -a "$new" != "$old"
  if ! ct_poll 30 nginx_serves_letta; then
    ct_fail "nginx does not reach Letta at $new within 30s: the impostor on the old address got $(impostor_clients)"
    ct_scenario_end
    exit 1
  fi
  ct_mark "nginx reaches Letta at $new"
  ct_ok "nginx follows letta-server to $new ($(ct_secs "$t0")s after its start)"
  local i bad=0
  for ((i = 0; i < 10; i++)); do nginx_serves_letta || bad=$((bad + 1)); sleep 0.2; done
  ct_check "the next 10 requests through nginx all reach Letta ($bad did not)" test "$bad" = 0
  ct_note "requests the impostor got, by client: $(impostor_clients)"
  ct_wait "letta-gate healthy" 60 ct_is_healthy letta-gate
  "$DOCKER" rm -f lgtest-impostor >/dev/null
  ct_scenario_end
}
# nginx_serves_letta: GET /v1/health/ through letta-nginx answers as the Letta stand-in does.
nginx_serves_letta() {
  local r
  r="$(ct_http "http://127.0.0.1:$LETTA_NGINX_PORT/v1/health/")"
  [ "${r%% *}" = 200 ] && grep -q '"status": *"ok"' <<<"$r"
}
# impostor_clients: "NAME: COUNT ..." of the requests lgtest-impostor's log shows, by client
# container (its address on letta-network).
impostor_clients() {
  local ips out
  ips="$("$DOCKER" network inspect letta-network -f '{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}')"
  out="$("$DOCKER" logs lgtest-impostor 2>&1 | awk '/"GET / { print $1 }' | sort | uniq -c |
    while read -r n ip; do
      c="$(tr ' ' '\n' <<<"$ips" | awk -F= -v ip="$ip" 'index($2, ip "/") == 1 { print $1 }')"
      printf '%s %s; ' "${c:-$ip}" "$n"
    done)"
  echo "${out:-none}"
}
