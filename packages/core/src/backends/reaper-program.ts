/**
 * The reaper's program, run by Perl, which every Debian-based image has (perl-base is essential), so the reaper needs
 * no image of its own. It removes, through the engine socket mounted at REAPER_SOCKET, the owner's containers (with
 * their volumes), networks and volumes once no holder has been alive for REAPER_GRACE seconds (REAPER_STARTUP before
 * the first one), then exits and the engine removes it (AutoRemove).
 *
 * A holder is a process of the reaper's container whose last argument is REAPER_HOLD: an exec the library started
 * with stdin attached. The engine closes that stdin when the library's connection drops, for whatever reason the
 * library ended (SIGKILL included), and the holder exits on EOF.
 */
export const REAPER_PROGRAM = String.raw`
use strict;
use warnings;
use IO::Socket::UNIX;

my ($filter, $hold) = @ENV{qw(REAPER_FILTER REAPER_HOLD)};
my ($grace, $startup) = @ENV{qw(REAPER_GRACE REAPER_STARTUP)};
$SIG{TERM} = sub { exit 0 };

sub holders {
  my $count = 0;
  for my $file (glob "/proc/[0-9]*/cmdline") {
    open my $in, "<", $file or next;
    local $/;
    my @argv = split /\0/, (<$in> // "");
    $count++ if @argv && $argv[-1] eq $hold;
  }
  return $count;
}

sub engine {
  my ($method, $path) = @_;
  my $socket = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ENV{REAPER_SOCKET}) or return "";
  print $socket "$method $path HTTP/1.0\r\nHost: engine\r\n\r\n";
  local $/;
  my $response = <$socket> // "";
  close $socket;
  return $response;
}

my ($held, $since) = (0, time);
while (1) {
  if (holders()) { ($held, $since) = (1, time) }
  elsif (time - $since >= ($held ? $grace : $startup)) { last }
  sleep 1;
}

# Containers first (they hold the networks and volumes); a few rounds for what was being created meanwhile.
for my $round (1 .. 5) {
  my @containers = engine("GET", "/containers/json?all=1&filters=$filter") =~ /"Id":"([0-9a-f]{64})"/g;
  engine("DELETE", "/containers/$_?force=1&v=1") for @containers;
  my @networks = engine("GET", "/networks?filters=$filter") =~ /"Id":"([0-9a-f]{64})"/g;
  engine("DELETE", "/networks/$_") for @networks;
  my @volumes = engine("GET", "/volumes?filters=$filter") =~ /"Name":"([\w.-]+)"/g;
  engine("DELETE", "/volumes/$_?force=1") for @volumes;
  last unless @containers || @networks || @volumes;
  sleep 1;
}
`;
