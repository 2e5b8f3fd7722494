# A real sshd on 127.0.0.1 for the tests of sharding across hosts (GNU
# parallel --sshlogin): Debian's openssh-server on a free port, with a
# throw-away host key and user key, only for this test's folder.
#
#   sshd_start DIR        starts it; writes DIR/ssh_config, where the
#                         host aliases host1 and host2 both reach it (two
#                         logins standing for two hosts), each with its own
#                         XDG_CACHE_HOME (DIR/host1, DIR/host2) unless
#                         SSHD_SHARED_CACHE names one folder for both;
#                         QA_HOST names the host on the far side
#   sshd_login NAME       the --sshlogin string for host NAME
#   sshd_stop DIR         stops it (call it from teardown)
#
# sshd without -D returns once it listens, so there is nothing to wait for.

sshd_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sshd_start() {
	local dir=$1 port user
	mkdir -p "$dir"
	chmod 700 "$dir"
	ssh-keygen -q -t ed25519 -N '' -C qa-test-host -f "$dir/host_key"
	ssh-keygen -q -t ed25519 -N '' -C qa-test-user -f "$dir/user_key"
	cp "$dir/user_key.pub" "$dir/authorized_keys"
	port=$(sshd_free_port)
	user=$(id -un)
	# As root, sshd wants its privilege separation folder.
	[ "$(id -u)" != 0 ] || mkdir -p /run/sshd
	cat > "$dir/sshd_config" <<-EOF
	Port $port
	ListenAddress 127.0.0.1
	HostKey $dir/host_key
	PidFile $dir/sshd.pid
	AuthorizedKeysFile $dir/authorized_keys
	AuthenticationMethods publickey
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	StrictModes no
	PermitRootLogin prohibit-password
	AllowUsers $user
	AcceptEnv XDG_CACHE_HOME QA_HOST
	PrintMotd no
	LogLevel ERROR
	EOF
	local h
	: > "$dir/ssh_config"
	for h in host1 host2; do
		mkdir -p "$dir/$h"
		cat >> "$dir/ssh_config" <<-EOF
		Host $h
		  HostName 127.0.0.1
		  Port $port
		  User $user
		  IdentityFile $dir/user_key
		  IdentitiesOnly yes
		  BatchMode yes
		  StrictHostKeyChecking no
		  UserKnownHostsFile /dev/null
		  LogLevel ERROR
		  SetEnv XDG_CACHE_HOME=${SSHD_SHARED_CACHE:-$dir/$h} QA_HOST=$h
		EOF
	done
	/usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
	SSHD_DIR=$dir
}

sshd_login() {
	printf 'ssh -F %s %s' "$SSHD_DIR/ssh_config" "$1"
}

sshd_stop() {
	local dir=$1
	[ -f "$dir/sshd.pid" ] || return 0
	kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true
	rm -f "$dir/sshd.pid"
}
