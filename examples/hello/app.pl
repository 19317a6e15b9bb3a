#!/usr/bin/perl
# podlift's sample app: a tiny forking HTTP server using only perl-base (present in every Debian).
#   GET  /         -> "hello from <service> version <PODLIFT_VERSION>: <message.txt>"
#   GET  /up       -> 200 "ok"; 503 while /app/UNHEALTHY exists, or for the first N seconds
#                     after start when /app/HEALTHY_AFTER holds N (to test failed/slow deploys)
#   GET  /sleep/N  -> answers after N seconds (in-flight requests during a switch)
#   POST anything  -> 200 with the byte count of the body
# Listens on $PORT (default 3000). Exits cleanly on SIGTERM after answering in-flight requests.
use strict;
use warnings;
use IO::Socket::INET;
use POSIX ":sys_wait_h";

my $port    = $ENV{PORT} || 3000;
my $version = $ENV{PODLIFT_VERSION} || "unknown";
my $service = $ENV{PODLIFT_SERVICE} || "hello";
my $message = "";
if (open(my $fh, "<", "/app/message.txt")) { local $/; $message = <$fh>; close $fh; }
$message =~ s/\s+$//;

my $started = time();
my $healthy_after = 0;
if (open(my $fh, "<", "/app/HEALTHY_AFTER")) { $healthy_after = int(<$fh> || 0); close $fh; }

my $server = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => $port, Listen => 128,
                                   ReuseAddr => 1, Proto => "tcp")
  or die "cannot listen on $port: $!\n";
$| = 1;
print "listening on $port, version $version\n";

my $stopping = 0;
$SIG{TERM} = $SIG{INT} = sub { $stopping = 1; close($server); };
$SIG{CHLD} = sub { 1 while waitpid(-1, WNOHANG) > 0; };

sub respond {
  my ($c, $code, $reason, $body) = @_;
  print $c "HTTP/1.1 $code $reason\r\nContent-Type: text/plain\r\nContent-Length: " . length($body)
    . "\r\nX-App-Version: $version\r\nConnection: close\r\n\r\n$body";
}

sub handle {
  my ($c) = @_;
  my $line = <$c>;
  return unless defined $line;
  my ($method, $path) = split / /, $line;
  my $length = 0;
  while (my $h = <$c>) {
    last if $h =~ /^\r?\n$/;
    $length = $1 if $h =~ /^content-length:\s*(\d+)/i;
  }
  my $body = "";
  read($c, $body, $length) if $length > 0;
  if ($method eq "POST") {
    respond($c, 200, "OK", "received " . length($body) . " bytes, version $version\n");
  } elsif ($path eq "/up") {
    if (-e "/app/UNHEALTHY" || time() - $started < $healthy_after) {
      respond($c, 503, "Service Unavailable", "unhealthy\n");
    }
    else { respond($c, 200, "OK", "ok\n"); }
  } elsif ($path =~ m{^/sleep/(\d+)$}) {
    sleep($1);
    respond($c, 200, "OK", "slept $1s, version $version\n");
  } elsif ($path eq "/") {
    respond($c, 200, "OK", "hello from $service version $version: $message\n");
  } else {
    respond($c, 404, "Not Found", "not found\n");
  }
}

while (!$stopping) {
  my $c = $server->accept();
  next unless $c;
  my $pid = fork();
  if (!defined $pid) { close $c; next; }
  if ($pid == 0) {
    $SIG{TERM} = "DEFAULT";
    close $server;
    handle($c);
    close $c;
    exit 0;
  }
  close $c;
}
# Let in-flight requests finish before exiting.
1 while wait() > 0;
print "stopped\n";
