#!/usr/bin/perl
# zgres dead man's switch for one PostgreSQL cluster.
#
# Runs the postmaster as its child and kills it, with every backend, when the deadman JVM stops confirming its
# ZooKeeper lease: when stdin closes (the JVM died) or, once armed, when the last deadline it was given passes
# (the JVM froze, lost ZooKeeper or lost its session). It does not need the JVM to be alive to do so.
#
#   supervisor.pl [--user USER] [--log FILE] [--armed DEADLINE_NS] -- /path/to/postgres ARGS...
#
# stdin (from the deadman), one command per line:
#   K <ns>      arm, or move the deadline to <ns> (CLOCK_MONOTONIC nanoseconds, the JVM's System.nanoTime)
#   S <SIGNAL>  ask PostgreSQL to stop (INT = fast, TERM = smart, QUIT = immediate); the deadline still holds
#   F <reason>  fence now
# stdout (to the deadman): READY <pid> <now_ns> | STARTED <postmaster_pid> | FENCED <reason> | EXITED <status>
#
# If the supervisor itself dies, the postmaster gets SIGQUIT from the kernel (its parent-death signal): PostgreSQL
# never outlives its dead man's switch.
#
# Fencing: SIGSTOP the postmaster (it can no longer fork), SIGKILL each of its children (backends survive their
# postmaster and could still commit), then SIGKILL the postmaster. The supervisor is a child subreaper, so
# backends orphaned by a postmaster that died on its own are re-parented here and killed too.
use strict;
use warnings;
use POSIX qw(setsid WNOHANG);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);
use Config;

$| = 1;
$SIG{PIPE} = 'IGNORE';    # the JVM may be gone: keep fencing
$SIG{INT}  = 'IGNORE';    # terminal signals are for the JVM, which stops PostgreSQL cleanly
$SIG{HUP}  = 'IGNORE';
my $term = 0;
$SIG{TERM} = sub { $term = 1 };

my ($user, $log, $deadline) = (undef, '/dev/null', undef);
while (@ARGV && $ARGV[0] ne '--') {
    my $opt = shift @ARGV;
    if    ($opt eq '--user')  { $user     = shift @ARGV }
    elsif ($opt eq '--log')   { $log      = shift @ARGV }
    elsif ($opt eq '--armed') { $deadline = shift @ARGV }
    else                      { die "supervisor: unknown option $opt\n" }
}
shift @ARGV;
die "supervisor: no command\n" unless @ARGV;

sub now_ns { return int(clock_gettime(CLOCK_MONOTONIC) * 1e9) }

sub say_ { my $m = shift; print STDOUT "$m\n" }

# Our own session: a Ctrl-C in the terminal that started the JVM must not reach us or PostgreSQL.
setsid();

# Become a child subreaper (prctl PR_SET_CHILD_SUBREAPER = 36).
my %prctl = ('x86_64' => 157, 'aarch64' => 167, 'i386' => 172, 'i686' => 172, 'ppc64le' => 171, 's390x' => 172);
my ($arch) = split /-/, $Config{archname};
my $nr = $prctl{$arch};
if (!defined $nr || syscall($nr, 36, 1, 0, 0, 0) != 0) {
    print STDERR "supervisor: cannot become a child subreaper on $arch: orphaned backends are found by parent only\n";
}

my ($uid, $gid);
if (defined $user && $> == 0) {
    my @pw = getpwnam($user) or die "supervisor: unknown user $user\n";
    ($uid, $gid) = @pw[2, 3];
}

say_("READY $$ " . now_ns());

my $supervisor = $$;
my $pm = fork();
die "supervisor: fork failed: $!\n" unless defined $pm;
if ($pm == 0) {
    setsid();
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>>', $log) or open(STDOUT, '>', '/dev/null');
    open(STDERR, '>&', \*STDOUT);
    if (defined $uid) {
        $( = $gid; $) = "$gid $gid";
        $< = $> = $uid;
        die "supervisor: could not become $user\n" if $> != $uid;
    }
    $SIG{$_} = 'DEFAULT' for qw(PIPE INT HUP TERM QUIT);
    # Fail closed: if this supervisor dies (SIGKILL, the OOM killer) while the JVM cannot act (frozen, cut off),
    # the kernel sends the postmaster SIGQUIT (immediate shutdown: every backend quits) - prctl(PR_SET_PDEATHSIG).
    # Set after the change of user (which clears it), and checked against a parent that died before it was set.
    if (!defined $nr || syscall($nr, 1, 3, 0, 0, 0) != 0) {
        print STDERR "supervisor: cannot set a parent-death signal on $arch: refusing to start PostgreSQL\n";
        POSIX::_exit(126);
    }
    POSIX::_exit(125) if getppid() != $supervisor;
    { no warnings 'exec'; exec { $ARGV[0] } @ARGV; }
    print STDERR "supervisor: exec $ARGV[0] failed: $!\n";
    POSIX::_exit(127);
}
say_("STARTED $pm");

my $fenced = 0;
my $status;

sub children_of {
    my $ppid = shift;
    my @kids;
    opendir(my $d, '/proc') or return ();
    for my $p (readdir $d) {
        next unless $p =~ /^\d+$/;
        open(my $f, '<', "/proc/$p/stat") or next;
        my $s = <$f>;
        close $f;
        next unless defined $s && $s =~ /\)\s+\S+\s+(\d+)/;   # field after "(comm) state" is the ppid
        push @kids, $p if $1 == $ppid;
    }
    closedir $d;
    return @kids;
}

sub fence {
    my $reason = shift;
    return if $fenced;
    $fenced = 1;
    kill 'STOP', $pm;
    my @kids = children_of($pm);
    kill 'KILL', @kids if @kids;
    kill 'KILL', $pm;
    my @orphans = grep { $_ != $pm } children_of($$);
    kill 'KILL', @orphans if @orphans;
    say_("FENCED $reason");
}

my $stopping = 0;
my $buf = '';
my $eof = 0;
while (1) {
    # reap: the postmaster, and orphans re-parented to us
    while ((my $k = waitpid(-1, WNOHANG)) > 0) {
        $status = $? if $k == $pm;
    }
    if (defined $status) {
        # the postmaster is gone: no backend may outlive it
        my @left = children_of($$);
        if (@left) {
            kill 'KILL', @left;
            1 while waitpid(-1, WNOHANG) > 0;
            select(undef, undef, undef, 0.01);
            next if children_of($$);
        }
        say_("EXITED $status");
        exit 0;
    }
    if ($term && !$fenced) {
        $term = 0;
        kill 'INT', $pm;    # asked to stop: fast shutdown, the lease still applies
        $stopping = 1;
    }
    my $now = now_ns();
    if (defined $deadline && $now >= $deadline) {
        fence("lease expired " . int(($now - $deadline) / 1e6) . " ms ago");
    }
    # poll every 50 ms; every 5 ms once asked to stop (a switchover waits for the exit)
    my $wait = $stopping ? 0.005 : 0.05;
    if (defined $deadline && !$fenced) {
        my $left = ($deadline - $now) / 1e9;
        $wait = $left if $left < $wait;
        $wait = 0 if $wait < 0;
    }
    if ($eof) {
        select(undef, undef, undef, $wait);
        next;
    }
    my $rin = '';
    vec($rin, fileno(STDIN), 1) = 1;
    my $n = select(my $rout = $rin, undef, undef, $wait);
    next unless $n && $n > 0;
    my $r = sysread(STDIN, $buf, 4096, length $buf);
    if (!defined $r) {
        next if $!{EINTR} || $!{EAGAIN};
        $r = 0;
    }
    if ($r == 0) {
        $eof = 1;
        fence("deadman gone (stdin closed)");
        next;
    }
    while ($buf =~ s/^([^\n]*)\n//) {
        my $line = $1;
        if ($line =~ /^K (\d+)$/) {
            $deadline = $1;
            fence("lease already expired when it arrived") if now_ns() >= $deadline;
        } elsif ($line =~ /^S (INT|TERM|QUIT)$/) {
            kill $1, $pm unless $fenced;
            $stopping = 1;
        } elsif ($line =~ /^F ?(.*)$/) {
            fence($1 eq '' ? 'asked by the deadman' : $1);
        } else {
            print STDERR "supervisor: ignoring '$line'\n";
        }
    }
}
