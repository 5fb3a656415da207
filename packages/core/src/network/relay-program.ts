/**
 * The relay: runs in the sidecar that shares the sandbox's loopback-only network namespace, as root with only the
 * capability to bind low ports. It accepts TCP connections on 0.0.0.0:<port> (so every 127.x.y.z address the name
 * server hands out lands here) and DNS datagrams on 127.0.0.1:53, and carries them over its stdin/stdout to the
 * library's egress proxy, which decides everything. It knows no policy: taking it over gains nothing.
 *
 * Frames both ways: type (1 byte), stream id (4), payload length (4), payload (see FRAME in mux.ts). Perl because
 * perl-base is in every Debian image (as for the reaper). Arguments: the TCP ports to listen on.
 */
export const RELAY_PROGRAM = String.raw`
use strict; use warnings;
use IO::Socket::INET; use IO::Select; use Socket qw(SOL_SOCKET SO_LINGER);
$SIG{PIPE} = 'IGNORE';
binmode STDIN; binmode STDOUT;
my ($OPEN, $DATA, $END, $CLOSE, $DNS, $READY, $PAUSE, $RESUME, $RESET, $LISTEN) = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
my $HIGH = 262144;     # per connection: bytes waiting for the client before the library is asked to pause
my $OUT_HIGH = 1048576; # to the library: bytes waiting before clients are no longer read
my (%listener, %conn, %cid, %pending, %ended, %client_eof, %closing, %paused_by_lib, %paused_lib, %dns_peer);
my ($next, $in, $out) = (1, '', '');
my $dns = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1', LocalPort => 53, ReuseAddr => 1)
  or die "relay: cannot bind 127.0.0.1:53/udp: $!\n";
$dns->blocking(0);
sub frame { my ($type, $id, $payload) = @_; $payload //= ''; $out .= pack('CNN', $type, $id, length $payload) . $payload; }
sub listen_on {
  my %want = map { $_ => 1 } @_;
  for my $port (keys %listener) { next if $want{$port}; close delete $listener{$port}; }
  my @failed;
  for my $port (sort { $a <=> $b } keys %want) {
    next if $listener{$port};
    my $socket = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $port, Listen => 128, ReuseAddr => 1, Proto => 'tcp');
    if ($socket) { $socket->blocking(0); $listener{$port} = $socket; } else { push @failed, "$port: $!"; }
  }
  frame($READY, 0, join(',', sort { $a <=> $b } keys %listener) . (@failed ? ' failed ' . join('; ', @failed) : ''));
}
sub drop {
  my ($id, $reset) = @_;
  my $socket = delete $conn{$id} or return;
  delete $cid{fileno $socket}; delete $pending{$id}; delete $ended{$id}; delete $client_eof{$id}; delete $closing{$id};
  delete $paused_by_lib{$id}; delete $paused_lib{$id};
  setsockopt($socket, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) if $reset;
  close $socket;
}
sub flush_client {
  my ($id) = @_;
  my $socket = $conn{$id} or return;
  if (length $pending{$id}) {
    my $wrote = syswrite($socket, $pending{$id});
    if (!defined $wrote) { return if $!{EAGAIN} || $!{EWOULDBLOCK}; frame($CLOSE, $id); drop($id, 1); return; }
    substr($pending{$id}, 0, $wrote, '');
  }
  if ($paused_lib{$id} && length $pending{$id} < $HIGH / 2) { delete $paused_lib{$id}; frame($RESUME, $id); }
  return if length $pending{$id};
  if ($closing{$id}) { drop($id, 0); } elsif ($ended{$id} && $ended{$id} == 1) { shutdown($socket, 1); $ended{$id} = 2; }
}
sub command {
  my ($type, $id, $payload) = @_;
  if ($type == $DATA) {
    return unless $conn{$id};
    $pending{$id} .= $payload;
    if (!$paused_lib{$id} && length $pending{$id} > $HIGH) { $paused_lib{$id} = 1; frame($PAUSE, $id); }
  } elsif ($type == $END) { $ended{$id} = 1 if $conn{$id} && !$ended{$id}; }
  elsif ($type == $CLOSE) { $closing{$id} = 1 if $conn{$id}; }
  elsif ($type == $RESET) { drop($id, 1); }
  elsif ($type == $PAUSE) { $paused_by_lib{$id} = 1 if $conn{$id}; }
  elsif ($type == $RESUME) { delete $paused_by_lib{$id}; }
  elsif ($type == $DNS) { my $peer = delete $dns_peer{$id}; send($dns, $payload, 0, $peer) if $peer; }
  elsif ($type == $LISTEN) { listen_on(split /,/, $payload); }
  flush_client($id) if $conn{$id};
}
listen_on(@ARGV);
STDIN->blocking(0); STDOUT->blocking(0);
while (1) {
  my $read = IO::Select->new(\*STDIN, $dns, values %listener);
  if (length $out < $OUT_HIGH) { $read->add($conn{$_}) for grep { !$paused_by_lib{$_} && !$client_eof{$_} } keys %conn; }
  my $write = IO::Select->new(grep { defined } map { length($pending{$_} // '') ? $conn{$_} : () } keys %conn);
  $write->add(\*STDOUT) if length $out;
  my ($readable, $writable) = IO::Select->select($read, $write, undef);
  for my $handle (@{$writable // []}) {
    if (fileno($handle) == fileno(STDOUT)) {
      my $wrote = syswrite(STDOUT, $out);
      if (defined $wrote) { substr($out, 0, $wrote, ''); } elsif (!$!{EAGAIN} && !$!{EWOULDBLOCK}) { exit 0; }
    } elsif (defined(my $id = $cid{fileno $handle})) { flush_client($id); }
  }
  for my $handle (@{$readable // []}) {
    my $fd = fileno $handle;
    if ($fd == fileno(STDIN)) {
      my $got = sysread(STDIN, $in, 262144, length $in);
      if (defined $got && $got == 0) { exit 0; }
      next unless $got;
      while (length $in >= 9) {
        my ($type, $id, $length) = unpack('CNN', $in);
        last if length $in < 9 + $length;
        my $payload = substr($in, 9, $length);
        substr($in, 0, 9 + $length, '');
        command($type, $id, $payload);
      }
    } elsif ($fd == fileno($dns)) {
      my $peer = recv($dns, my $datagram, 65535, 0);
      next unless defined $peer && length $datagram;
      %dns_peer = () if keys %dns_peer > 4096; # queries the library never answered
      my $id = $next++;
      $dns_peer{$id} = $peer;
      frame($DNS, $id, $datagram);
    } elsif (my ($port) = grep { fileno($listener{$_}) == $fd } keys %listener) {
      my $client = $listener{$port}->accept or next;
      $client->blocking(0);
      my $id = $next++;
      $conn{$id} = $client; $cid{fileno $client} = $id; $pending{$id} = '';
      frame($OPEN, $id, $client->sockhost . ' ' . $client->sockport);
    } elsif (defined(my $id = $cid{$fd})) {
      my $got = sysread($handle, my $data, 65536);
      if (!defined $got) { next if $!{EAGAIN} || $!{EWOULDBLOCK}; frame($CLOSE, $id); drop($id, 1); }
      elsif ($got == 0) { $client_eof{$id} = 1; frame($END, $id); }
      else { frame($DATA, $id, $data); }
    }
  }
}
`;
