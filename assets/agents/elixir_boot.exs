# Runyard Elixir agent bootstrap: passed verbatim as the `-e` argument.
# argv: <agent dir> <longnames|shortnames> <node name> <mode> [<target node>] <token>.
# Loads the agent's .beam files from <agent dir>/beam-<Elixir>-otp<OTP>/. When
# they are missing it tells the manager (a `preparing` frame, which pauses the
# init timer) and compiles <agent dir>/elixir_agent.ex there (temp dir +
# rename), one node at a time: a lock directory keeps parallel first starts
# from all compiling at once on a few cores. A lock whose holder died, or
# older than 2 minutes, is broken; after 4 minutes a waiter compiles anyway.
[dir | args] = System.argv()
beams = Path.join(dir, "beam-#{System.version()}-otp#{System.otp_release()}")
Code.prepend_path(beams)

unless Code.ensure_loaded?(RunyardAgent) do
  IO.binwrite([0x1E, ~s[{"type":"preparing","message":"compiling the Elixir agent (first start)"}], ?\n])
  lock = beams <> ".lock"

  compile = fn ->
    tmp = "#{beams}.tmp#{System.pid()}"
    File.rm_rf!(tmp)
    File.mkdir_p!(tmp)

    for {mod, bin} <- Code.compile_file(Path.join(dir, "elixir_agent.ex")),
        do: File.write!(Path.join(tmp, "#{mod}.beam"), bin)

    if File.rename(tmp, beams) != :ok, do: File.rm_rf(tmp)
  end

  age = fn ->
    case File.stat(lock, time: :posix) do
      {:ok, stat} -> System.os_time(:second) - stat.mtime
      _ -> 0
    end
  end

  # Without /proc (macOS) only the age rule applies.
  stale? = fn ->
    case File.read(Path.join(lock, "pid")) do
      {:ok, pid} when pid != "" ->
        (File.dir?("/proc/self") and not File.exists?("/proc/#{pid}")) or age.() > 120

      # The holder died between taking the lock and naming itself, or is about to name itself.
      _ ->
        age.() > 10
    end
  end

  deadline = System.monotonic_time(:millisecond) + 240_000

  wait = fn wait ->
    cond do
      File.dir?(beams) ->
        :ok

      File.mkdir(lock) == :ok ->
        try do
          File.write!(Path.join(lock, "pid"), System.pid())
          # Another node may have finished between the check and the lock.
          unless File.dir?(beams), do: compile.()
        after
          File.rm_rf(lock)
        end

      stale?.() ->
        IO.puts(:stderr, "runyard boot: breaking the stale compile lock #{lock}")
        File.rm_rf(lock)
        wait.(wait)

      System.monotonic_time(:millisecond) > deadline ->
        compile.()

      true ->
        Process.sleep(100)
        wait.(wait)
    end
  end

  wait.(wait)
  Code.delete_path(beams)
  Code.prepend_path(beams)
end

RunyardAgent.main(args)
