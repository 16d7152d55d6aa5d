#!/bin/sh
# Puts mamori's policy check ($mamori_policy, see examples/postfix/main.cf)
# in front of Postfix's smtpd_relay_restrictions, keeping the list that is
# there: "permit_mynetworks, permit_sasl_authenticated,
# defer_unauth_destination" becomes "$mamori_policy, permit_mynetworks, ...".
# Does nothing when the check is there already. Then: postfix reload.
#   add-policy.sh [CONFIG_DIR]     (default /etc/postfix)
set -eu
dir=${1:-/etc/postfix}
if [ -z "$(postconf -c "$dir" -h mamori_policy 2>/dev/null)" ]; then
  echo "add-policy: $dir/main.cf has no mamori_policy; add examples/postfix/main.cf first" >&2
  exit 1
fi
current=$(postconf -c "$dir" -h smtpd_relay_restrictions)
case "$current" in
  *'$mamori_policy'* | *'${mamori_policy}'*) exit 0 ;;
esac
postconf -c "$dir" -e "smtpd_relay_restrictions = \$mamori_policy, $current"
