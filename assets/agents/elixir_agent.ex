# Runyard's Elixir runtime agent (protocol version 4, see docs/protocol.md).
#
# One source file, compiled once per (source, Elixir, OTP) into a cache
# directory by the bootstrap described in assets/agents/README.md, then
# loaded from the cached .beam files on every later start.
#
# Modules:
#
#   RunyardAgent.Version   compile-time version tag (hash of this file, Elixir
#                          and OTP versions)
#   RunyardAgent.Json      a small JSON codec (Elixir 1.14 has none)
#   RunyardAgent.Output    the group leader of every evaluation: speaks the
#                          Erlang I/O protocol and batches output frames
#   RunyardAgent           the agent proper: reads commands on fd 0, writes
#                          frames on fd 1, queues evaluations; in `attach`
#                          mode a bridge to another node
#   RunyardAgent.Node_<v>  everything that runs on the evaluating node (this
#                          node, or the attached target): node manager,
#                          session (stored contexts), evaluation workers,
#                          standard_error forwarder, :logger handler, rich
#                          outputs (bundles). Its name carries the version, so
#                          several Runyard versions can attach to one node
#                          without purging each other's code.
#   RunyardAgent.Complete_<v>  completion and documentation (complete,
#                          inspect) on the evaluating node, loaded on first use
#   Runyard                the helpers user code calls (Runyard.image/2,
#                          markdown/1, table/1, display/2, update/2): a thin
#                          facade over RunyardAgent.Node_<v>, loaded onto the
#                          evaluating node with it unless the node already has
#                          a Runyard module of its own (a project's), which is
#                          then left alone.

defmodule RunyardAgent.Version do
  @moduledoc false
  @external_resource __ENV__.file
  @vsn [
         File.read!(__ENV__.file),
         System.version(),
         :erlang.system_info(:otp_release)
       ]
       |> :erlang.md5()
       |> Base.encode16(case: :lower)
       |> binary_part(0, 12)

  def vsn, do: @vsn
  def node_module, do: :"Elixir.RunyardAgent.Node_#{@vsn}"
  def complete_module, do: :"Elixir.RunyardAgent.Complete_#{@vsn}"
end

defmodule RunyardAgent.Json do
  @moduledoc false
  # Encoder: maps (atom or string keys), lists, binaries (UTF-8; invalid bytes
  # become U+FFFD), integers, floats, true/false/nil, other atoms as strings.
  # Decoder: RFC 8259, objects as maps with string keys, null -> nil.

  def encode(nil), do: "null"
  def encode(true), do: "true"
  def encode(false), do: "false"
  def encode(a) when is_atom(a), do: string(Atom.to_string(a))
  def encode(b) when is_binary(b), do: string(b)
  def encode(i) when is_integer(i), do: Integer.to_string(i)
  def encode(f) when is_float(f), do: :erlang.float_to_binary(f, [:short])

  def encode(m) when is_map(m) do
    case Enum.map(m, fn {k, v} -> [key(k), ?:, encode(v)] end) do
      [] -> "{}"
      [h | t] -> [?{, h, Enum.map(t, &[?, | &1]), ?}]
    end
  end

  def encode(l) when is_list(l) do
    case l do
      [] -> "[]"
      [h | t] -> [?[, encode(h), Enum.map(t, &[?, | encode(&1)]), ?]]
    end
  end

  def encode(t) when is_tuple(t), do: encode(Tuple.to_list(t))
  def encode(other), do: string(inspect(other))

  defp key(k) when is_atom(k), do: string(Atom.to_string(k))
  defp key(k) when is_binary(k), do: string(k)
  defp key(k), do: string(to_string(k))

  @doc "A JSON string literal (iodata) for a binary."
  def string(b) do
    b = if String.valid?(b), do: b, else: sanitize(b, [])
    [?", escape(b), ?"]
  end

  @specials Enum.map(0..31, &<<&1>>) ++ ["\"", "\\"]

  defp escape(b) do
    pat = :persistent_term.get({__MODULE__, :pat}, nil) || compile_pat()

    case :binary.match(b, pat) do
      :nomatch -> b
      _ -> escape(b, pat, [])
    end
  end

  defp compile_pat do
    pat = :binary.compile_pattern(@specials)
    :persistent_term.put({__MODULE__, :pat}, pat)
    pat
  end

  defp escape(b, pat, acc) do
    case :binary.match(b, pat) do
      :nomatch ->
        [acc | b]

      {pos, 1} ->
        <<pre::binary-size(pos), c, rest::binary>> = b
        escape(rest, pat, [acc, pre | esc(c)])
    end
  end

  defp esc(?"), do: "\\\""
  defp esc(?\\), do: "\\\\"
  defp esc(?\n), do: "\\n"
  defp esc(?\r), do: "\\r"
  defp esc(?\t), do: "\\t"
  defp esc(?\b), do: "\\b"
  defp esc(?\f), do: "\\f"

  defp esc(c) do
    hex = Integer.to_string(c, 16)
    "\\u" <> String.duplicate("0", 4 - byte_size(hex)) <> hex
  end

  @doc "Replaces every invalid UTF-8 byte with U+FFFD."
  def sanitize(b, acc \\ [])
  def sanitize(<<>>, acc), do: IO.iodata_to_binary(Enum.reverse(acc))

  def sanitize(b, acc) do
    case :unicode.characters_to_binary(b) do
      good when is_binary(good) ->
        sanitize(<<>>, [good | acc])

      {:error, good, <<_, rest::binary>>} ->
        sanitize(rest, ["\uFFFD", good | acc])

      {:incomplete, good, _rest} ->
        sanitize(<<>>, ["\uFFFD", good | acc])
    end
  end

  ## Decoder

  def decode(bin) when is_binary(bin) do
    {value, rest} = value(skip_ws(bin))

    case skip_ws(rest) do
      <<>> -> {:ok, value}
      _ -> {:error, "trailing characters after JSON value"}
    end
  catch
    {:json_error, msg} -> {:error, msg}
  end

  defp fail(msg), do: throw({:json_error, msg})

  defp skip_ws(<<c, rest::binary>>) when c in [?\s, ?\t, ?\n, ?\r], do: skip_ws(rest)
  defp skip_ws(b), do: b

  defp value(<<?{, rest::binary>>), do: object(skip_ws(rest), %{})
  defp value(<<?[, rest::binary>>), do: array(skip_ws(rest), [])
  defp value(<<?", rest::binary>>), do: str(rest, [])
  defp value(<<"null", rest::binary>>), do: {nil, rest}
  defp value(<<"true", rest::binary>>), do: {true, rest}
  defp value(<<"false", rest::binary>>), do: {false, rest}
  defp value(<<c, _::binary>> = b) when c == ?- or c in ?0..?9, do: number(b)
  defp value(<<>>), do: fail("unexpected end of input")
  defp value(<<c, _::binary>>), do: fail("unexpected character #{inspect(<<c>>)}")

  defp object(<<?}, rest::binary>>, acc), do: {acc, rest}

  defp object(<<?", rest::binary>>, acc) do
    {k, rest} = str(rest, [])

    case skip_ws(rest) do
      <<?:, rest::binary>> ->
        {v, rest} = value(skip_ws(rest))
        acc = Map.put(acc, k, v)

        case skip_ws(rest) do
          <<?,, rest::binary>> ->
            case skip_ws(rest) do
              <<?", _::binary>> = r -> object(r, acc)
              _ -> fail("expected a key after ','")
            end

          <<?}, rest::binary>> ->
            {acc, rest}

          _ ->
            fail("expected ',' or '}' in object")
        end

      _ ->
        fail("expected ':' after key")
    end
  end

  defp object(_, _), do: fail("expected a string key or '}'")

  defp array(<<?], rest::binary>>, []), do: {[], rest}

  defp array(b, acc) do
    {v, rest} = value(b)

    case skip_ws(rest) do
      <<?,, rest::binary>> -> array_next(skip_ws(rest), [v | acc])
      <<?], rest::binary>> -> {Enum.reverse([v | acc]), rest}
      _ -> fail("expected ',' or ']' in array")
    end
  end

  defp array_next(<<?], _::binary>>, _), do: fail("trailing ',' in array")
  defp array_next(b, acc), do: array(b, acc)

  defp str(b, acc) do
    case :binary.match(b, ["\"", "\\"]) do
      :nomatch ->
        fail("unterminated string")

      {pos, 1} ->
        <<pre::binary-size(pos), c, rest::binary>> = b
        acc = [acc | pre]

        case c do
          ?" ->
            s = IO.iodata_to_binary(acc)
            if String.valid?(s), do: {s, rest}, else: fail("invalid UTF-8 in string")

          ?\\ ->
            {chunk, rest} = unescape(rest)
            str(rest, [acc | chunk])
        end
    end
  end

  defp unescape(<<?", r::binary>>), do: {"\"", r}
  defp unescape(<<?\\, r::binary>>), do: {"\\", r}
  defp unescape(<<?/, r::binary>>), do: {"/", r}
  defp unescape(<<?b, r::binary>>), do: {"\b", r}
  defp unescape(<<?f, r::binary>>), do: {"\f", r}
  defp unescape(<<?n, r::binary>>), do: {"\n", r}
  defp unescape(<<?r, r::binary>>), do: {"\r", r}
  defp unescape(<<?t, r::binary>>), do: {"\t", r}

  defp unescape(<<?u, h::binary-size(4), r::binary>>) do
    cp = hex4(h)

    cond do
      cp in 0xD800..0xDBFF ->
        case r do
          <<?\\, ?u, l::binary-size(4), r2::binary>> ->
            lo = hex4(l)

            if lo in 0xDC00..0xDFFF do
              {<<0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)::utf8>>, r2}
            else
              {"\uFFFD", <<?\\, ?u, l::binary, r2::binary>>}
            end

          _ ->
            {"\uFFFD", r}
        end

      cp in 0xDC00..0xDFFF ->
        {"\uFFFD", r}

      true ->
        {<<cp::utf8>>, r}
    end
  end

  defp unescape(_), do: fail("invalid escape in string")

  defp hex4(h) do
    case Integer.parse(h, 16) do
      {n, ""} -> n
      _ -> fail("invalid \\u escape")
    end
  end

  defp number(b) do
    {int, rest} = take_int(b)
    {frac, rest} = take_frac(rest)
    {exp, rest} = take_exp(rest)

    if frac == "" and exp == "" do
      {String.to_integer(int), rest}
    else
      frac = if frac == "", do: ".0", else: frac
      {String.to_float(int <> frac <> exp), rest}
    end
  end

  defp take_int(<<?-, rest::binary>>) do
    {d, rest} = take_int(rest)
    {"-" <> d, rest}
  end

  defp take_int(<<?0, rest::binary>>), do: {"0", rest}

  defp take_int(<<c, _::binary>> = b) when c in ?1..?9, do: digits(b, "")
  defp take_int(_), do: fail("invalid number")

  defp digits(<<c, rest::binary>>, acc) when c in ?0..?9, do: digits(rest, <<acc::binary, c>>)
  defp digits(rest, acc), do: {acc, rest}

  defp take_frac(<<?., c, _::binary>> = b) when c in ?0..?9 do
    <<?., rest::binary>> = b
    {d, rest} = digits(rest, "")
    {"." <> d, rest}
  end

  defp take_frac(<<?., _::binary>>), do: fail("invalid number")
  defp take_frac(b), do: {"", b}

  defp take_exp(<<e, rest::binary>>) when e in [?e, ?E] do
    {sign, rest} =
      case rest do
        <<s, r::binary>> when s in [?+, ?-] -> {<<s>>, r}
        r -> {"", r}
      end

    case digits(rest, "") do
      {"", _} -> fail("invalid number")
      {d, rest} -> {"e" <> sign <> d, rest}
    end
  end

  defp take_exp(b), do: {"", b}
end

defmodule RunyardAgent.Output do
  @moduledoc false
  # The group leader of every evaluation (and so of every process an
  # evaluation spawns). Speaks the Erlang I/O protocol; everything written is
  # batched into `output` frames: at most 64 KiB of text each, at most ~50 ms
  # late, tagged with the ref of the evaluation that is running (null between
  # evaluations). Requests wrapped as {:runyard_stderr, request} (from the
  # standard_error forwarder and the :logger handler) go to stream "stderr".
  #
  # Rich outputs travel through here too, as the I/O requests
  # {:runyard_display, bundle, display_id, update} (written as a `display`
  # frame after flushing the text before it, so that a display keeps its place
  # among the text the cell prints) and {:runyard_options} (the display
  # options of the running evaluation, for the helpers on the evaluating node).

  @max_chunk 65_536
  @delay 50

  def start(port) do
    spawn_link(fn ->
      Process.flag(:priority, :high)

      loop(%{
        port: port,
        ref: nil,
        stream: "stdout",
        buf: [],
        size: 0,
        timer: false,
        options: RunyardAgent.default_options()
      })
    end)
  end

  @doc """
  Sets the current evaluation ref and its display options (flushing what was
  pending first). Async: the GL is local, so it has the message before any
  process of the evaluation can write.
  """
  def set_ref(gl, ref, options), do: send(gl, {:runyard_set_ref, ref, options})

  @doc "Synchronously flushes pending output and clears the current ref."
  def finish(gl), do: call(gl, {:set_ref, nil})

  defp call(gl, msg) do
    tag = make_ref()
    send(gl, {:runyard_call, self(), tag, msg})

    receive do
      {^tag, reply} -> reply
    end
  end

  defp loop(st) do
    receive do
      {:io_request, from, reply_as, {:runyard_stderr, req}} ->
        {reply, st} = request(req, "stderr", st)
        send(from, {:io_reply, reply_as, reply})
        loop(st)

      {:io_request, from, reply_as, req} ->
        case input(req) do
          {prompt, password} ->
            # IO.gets and friends: the user is asked; the answer comes back
            # as {:runyard_input, value} and is the reply to this request.
            st = flush(st)

            RunyardAgent.frame(st.port, %{
              type: "input_request",
              ref: st.ref,
              prompt: prompt,
              password: password
            })

            loop(Map.put(st, :asking, {from, reply_as, req}))

          nil ->
            {reply, st} = request(req, "stdout", st)
            send(from, {:io_reply, reply_as, reply})
            loop(st)
        end

      {:runyard_input, value} ->
        case Map.pop(st, :asking) do
          {{from, reply_as, req}, st} ->
            send(from, {:io_reply, reply_as, answer(req, value)})
            loop(st)

          {nil, st} ->
            loop(st)
        end

      {:runyard_call, from, tag, {:set_ref, ref}} ->
        st = flush(st)
        send(from, {tag, :ok})
        loop(%{st | ref: ref})

      {:runyard_set_ref, ref, options} ->
        loop(%{flush(st) | ref: ref, options: options})

      :runyard_tick ->
        loop(flush(%{st | timer: false}))

      _ ->
        loop(st)
    end
  end

  # The requests that read a line, and what they ask: {prompt, password?}.
  defp input({:get_line, _enc, prompt}), do: {prompt_text(prompt), false}
  defp input({:get_line, prompt}), do: {prompt_text(prompt), false}
  defp input({:get_chars, _enc, prompt, _n}), do: {prompt_text(prompt), false}
  defp input({:get_chars, prompt, _n}), do: {prompt_text(prompt), false}
  defp input({:get_password, _enc}), do: {"", true}
  defp input(_), do: nil

  defp prompt_text(prompt) do
    IO.chardata_to_string(prompt)
  rescue
    _ -> ""
  end

  # nil: end of input. A line gets its newline back; get_chars takes up to n
  # characters of it, as from a terminal.
  defp answer(_req, nil), do: :eof

  defp answer(req, line) when is_binary(line) do
    case req do
      {:get_chars, _, _, n} when is_integer(n) -> String.slice(line <> "\n", 0, n)
      {:get_chars, _, n} when is_integer(n) -> String.slice(line <> "\n", 0, n)
      {:get_password, _} -> line
      _ -> line <> "\n"
    end
  end

  defp answer(_req, _), do: :eof

  defp request({:put_chars, enc, chars}, stream, st), do: put(chars, enc, stream, st)

  defp request({:put_chars, enc, m, f, a}, stream, st) do
    put(apply(m, f, a), enc, stream, st)
  catch
    _, _ -> {{:error, :put_chars}, st}
  end

  defp request({:put_chars, chars}, stream, st), do: put(chars, :latin1, stream, st)

  defp request({:put_chars, m, f, a}, stream, st),
    do: request({:put_chars, :latin1, m, f, a}, stream, st)

  defp request({:get_until, _, _, _, _, _}, _, st), do: {:eof, st}
  defp request({:get_until, _, _, _, _}, _, st), do: {:eof, st}
  defp request({:setopts, _}, _, st), do: {:ok, st}
  defp request(:getopts, _, st), do: {[binary: true, encoding: :unicode], st}
  defp request({:get_geometry, _}, _, st), do: {{:error, :enotsup}, st}
  defp request({:runyard_options}, _, st), do: {st.options, st}

  defp request({:runyard_display, bundle, id, update}, _, st) do
    st = flush(st)

    RunyardAgent.frame(st.port, %{
      type: "display",
      ref: st.ref,
      bundle: RunyardAgent.cap_bundle(bundle, st.options.max_output_bytes),
      display_id: id,
      update: update
    })

    {:ok, st}
  end

  defp request({:requests, reqs}, stream, st) do
    Enum.reduce_while(reqs, {:ok, st}, fn req, {_, st} ->
      case request(req, stream, st) do
        {{:error, _}, _} = err -> {:halt, err}
        other -> {:cont, other}
      end
    end)
  end

  defp request(_, _, st), do: {{:error, :request}, st}

  defp put(chars, enc, stream, st) do
    bin =
      try do
        case enc do
          :latin1 -> :unicode.characters_to_binary(chars, :latin1, :unicode)
          _ -> :unicode.characters_to_binary(chars)
        end
      catch
        _, _ -> :error
      end

    case bin do
      b when is_binary(b) -> {:ok, append(b, stream, st)}
      _ -> {{:error, :put_chars}, st}
    end
  end

  defp append("", _stream, st), do: st

  defp append(b, stream, st) do
    st = if st.stream != stream and st.size > 0, do: flush(st), else: st
    st = %{st | stream: stream, buf: [st.buf | b], size: st.size + byte_size(b)}

    cond do
      st.size >= @max_chunk ->
        flush(st)

      not st.timer ->
        Process.send_after(self(), :runyard_tick, @delay)
        %{st | timer: true}

      true ->
        st
    end
  end

  defp flush(%{size: 0} = st), do: st

  defp flush(st) do
    write_chunks(IO.iodata_to_binary(st.buf), st)
    %{st | buf: [], size: 0}
  end

  defp write_chunks(b, st) when byte_size(b) <= @max_chunk, do: write(b, st)

  defp write_chunks(b, st) do
    cut = boundary(b, @max_chunk)
    <<chunk::binary-size(cut), rest::binary>> = b
    write(chunk, st)
    write_chunks(rest, st)
  end

  # Back off to the start of a UTF-8 sequence.
  defp boundary(b, n) do
    case :binary.at(b, n) do
      c when c >= 0x80 and c < 0xC0 and n > @max_chunk - 4 -> boundary(b, n - 1)
      _ -> n
    end
  end

  defp write(text, st) do
    RunyardAgent.frame(st.port, %{
      type: "output",
      ref: st.ref,
      stream: st.stream,
      text: text
    })
  end
end

defmodule RunyardAgent do
  @moduledoc false
  alias RunyardAgent.{Json, Output}

  @node_mod RunyardAgent.Version.node_module()
  @complete_mod RunyardAgent.Version.complete_module()
  @nm_name :"runyard_nm_#{RunyardAgent.Version.vsn()}"
  @node_down_status 3
  # complete / inspect: longer code gets an empty answer (docs/protocol.md).
  @max_query_code 1_000_000
  @default_options %{width: 100, table_rows: 1000, max_output_bytes: 20 * 1024 * 1024}

  def default_options, do: @default_options

  # `evaluate.options`: anything missing or malformed takes its default.
  defp options(o) when is_map(o) do
    pick = fn key, min ->
      case o[Atom.to_string(key)] do
        n when is_integer(n) and n >= min -> n
        _ -> @default_options[key]
      end
    end

    %{width: pick.(:width, 1), table_rows: pick.(:table_rows, 0), max_output_bytes: pick.(:max_output_bytes, 0)}
  end

  defp options(_), do: @default_options

  @doc """
  A bundle whose data (strings by their bytes, JSON values as written, as the
  manager counts them) is over `max` bytes becomes a text/plain note naming
  its size and the cap.
  """
  def cap_bundle(%{data: data} = bundle, max) do
    size =
      Enum.reduce(data, 0, fn
        {_, v}, acc when is_binary(v) -> acc + byte_size(v)
        {_, v}, acc -> acc + IO.iodata_length(Json.encode(v))
      end)

    if size > max do
      %{
        data: %{
          "text/plain" =>
            "[output not shown: its data is #{size} bytes, over the cap of #{max} bytes (max_output_bytes)]"
        },
        metadata: %{}
      }
    else
      bundle
    end
  end

  ## Entry point (called by the bootstrap with the arguments after the cache dir)

  def main([names, name | argv]) do
    port = Port.open({:fd, 0, 1}, [:binary, :eof, {:line, 65_536}])

    case start_distribution(names, name) do
      :ok -> run(port, argv)
      {:error, message} -> init_error(port, "distribution", message)
    end
  end

  def main(argv) do
    IO.puts(:stderr, "runyard agent: bad arguments #{inspect(argv)}")
    :erlang.halt(2)
  end

  # The node is started without --sname/--name/--cookie, which every local
  # user could read from its command line: distribution starts here, bound to
  # 127.0.0.1, and the cookie comes from the environment (owner-only). It is
  # removed from the environment first, so no child process inherits it.
  defp start_distribution(names, name) do
    cookie = System.get_env("RUNYARD_COOKIE", "")
    System.delete_env("RUNYARD_COOKIE")
    mode = if names == "longnames", do: :longnames, else: :shortnames
    Application.put_env(:kernel, :inet_dist_use_interface, {127, 0, 0, 1})

    cond do
      cookie == "" ->
        {:error, "no cookie was given (RUNYARD_COOKIE is empty)"}

      node() != :nonode@nohost ->
        {:error, "the node was started with distribution already (#{node()}); start it without --sname/--name"}

      true ->
        case :net_kernel.start([String.to_atom(name), mode]) do
          {:ok, _} ->
            Node.set_cookie(String.to_atom(cookie))
            :ok

          {:error, reason} ->
            {:error,
             "cannot start distribution as #{name} (is epmd running on 127.0.0.1?): " <>
               inspect(reason)}
        end
    end
  end

  defp run(port, argv) do
    case argv do
      ["standalone", token] ->
        start(port, node(), true, token)

      ["attach", target, token] ->
        case connect(target) do
          {:ok, target} -> start(port, target, false, token)
          {:error, reason, message} -> init_error(port, reason, message)
        end

      _ ->
        IO.puts(:stderr, "runyard agent: bad arguments #{inspect(argv)}")
        :erlang.halt(2)
    end
  end

  def frame(port, msg) do
    Port.command(port, [0x1E, Json.encode(msg), ?\n])
  end

  # An evaluation's end, its value capped as every output is.
  defp result_frame(port, st, ref, status, value, error, duration) do
    frame(port, %{
      type: "result",
      ref: ref,
      status: status,
      value: value && cap_bundle(value, st.options.max_output_bytes),
      error: error,
      duration_us: duration
    })
  end

  defp init_error(port, reason, message) do
    frame(port, %{type: "init_error", reason: reason, message: message})
    IO.puts(:stderr, "runyard agent: " <> message)
    :erlang.halt(1)
  end

  defp start(port, target, standalone, token) do
    gl = Output.start(port)

    case join(target, standalone, gl, 5) do
      {:ok, session} ->
        Process.monitor(session)
        unless standalone, do: Node.monitor(target, true)

        frame(port, %{
          type: "hello",
          token: token,
          protocol: 4,
          pid: String.to_integer(System.pid()),
          language: "elixir",
          language_version: remote(target, System, :version, []),
          executable: executable(),
          node: Atom.to_string(target),
          cookie: Atom.to_string(Node.get_cookie()),
          otp_release: remote(target, :erlang, :system_info, [:otp_release]) |> to_string()
        })

        loop(%{
          port: port,
          gl: gl,
          session: session,
          target: target,
          standalone: standalone,
          queue: :queue.new(),
          running: nil,
          # Branching sections' containers => their own Output process (group leader).
          branches: %{},
          options: @default_options,
          partial: [],
          # The completion module is on the target (attached: loaded at the first request).
          complete_ready: standalone
        })

      {:error, reason, message} ->
        init_error(port, reason, message)
    end
  end

  defp remote(target, m, f, a) do
    if target == node(), do: apply(m, f, a), else: :rpc.call(target, m, f, a, 4000)
  end

  defp executable do
    elixir = Path.expand("../../bin/elixir", :code.lib_dir(:elixir))

    cond do
      File.regular?(elixir) -> elixir
      bindir = System.get_env("BINDIR") -> Path.join(bindir, "erl")
      true -> System.find_executable("elixir") || "elixir"
    end
  end

  ## Main loop

  defp loop(st) do
    port = st.port

    receive do
      {^port, {:data, {:noeol, chunk}}} ->
        loop(%{st | partial: [st.partial | chunk]})

      {^port, {:data, {:eol, line}}} ->
        line = IO.iodata_to_binary([st.partial | line])
        st = %{st | partial: []}
        loop(command(line, st))

      {^port, :eof} ->
        halt_now(st)

      {:runyard_result, ref, status, value, error, duration} ->
        Output.finish(st.gl)
        result_frame(port, st, ref, status, value, error, duration)
        loop(run_next(%{st | running: nil}))

      {:runyard_branch_result, c, ref, status, value, error, duration} ->
        if gl = st.branches[c], do: Output.finish(gl)
        result_frame(port, st, ref, status, value, error, duration)
        loop(st)

      {:runyard_query, answer} ->
        frame(port, answer)
        loop(st)

      {:runyard_memory, mem} ->
        mem = Map.new(mem)
        named = [:processes, :atom, :binary, :code, :ets]
        parts = Enum.map(named, &[Atom.to_string(&1), Map.get(mem, &1, 0)])
        other = mem.total - Enum.reduce(named, 0, &(Map.get(mem, &1, 0) + &2))
        frame(port, %{type: "memory", total: mem.total, parts: parts ++ [["other", other]]})
        loop(st)

      {:nodedown, node} when node == st.target ->
        node_down(st, "the connection to it was lost")

      {:DOWN, _, :process, pid, reason} when pid == st.session ->
        if reason in [:noconnection, :noproc] and not st.standalone do
          node_down(st, "the connection to it was lost")
        else
          IO.puts(:stderr, "runyard agent: the session process ended: #{inspect(reason)}")
          :erlang.halt(4)
        end

      _ ->
        loop(st)
    end
  end

  defp node_down(st, why) do
    IO.puts(:stderr, "runyard agent: target node #{st.target} went down (#{why})")
    :erlang.halt(@node_down_status)
  end

  defp command(line, st) do
    json =
      case :binary.split(line, <<0x1E>>, [:global]) do
        [only] -> only
        parts -> List.last(parts)
      end

    if String.trim(json) == "" do
      st
    else
      case Json.decode(json) do
        {:ok, %{"type" => type} = msg} ->
          handle(type, msg, st)

        {:ok, _} ->
          log(st, "warn", "command without a type: #{String.slice(json, 0, 200)}")

        {:error, why} ->
          log(st, "warn", "malformed command (#{why}): #{String.slice(json, 0, 200)}")
      end
    end
  end

  defp handle("evaluate", %{"container" => c, "ref" => r, "code" => code} = msg, st)
       when is_binary(code) do
    file = Map.get(msg, "file") || "nofile"
    # A section's first cell chains from the last cell of the section above: another container.
    prev = if p = key(msg["prev"]), do: {key(msg["prev_container"] || c), p}
    cmd = {:evaluate, key(c), key(r), prev, code, to_string(file), r, options(msg["options"])}
    if msg["branch"] == true, do: branch(cmd, st), else: enqueue(cmd, st)
  end

  defp handle("forget", %{"container" => c, "ref" => r}, st),
    do: enqueue({:forget, key(c), key(r)}, st)

  defp handle("drop_container", %{"container" => c}, st),
    do: enqueue({:drop_container, key(c)}, st)

  # Every running evaluation: the main flow's and the branches' (the session
  # ignores it when nothing runs).
  defp handle("interrupt", _, st) do
    send(st.session, :interrupt)
    st
  end

  defp handle("memory", _, st) do
    send(st.session, {:memory, self()})
    st
  end

  defp handle("stop", _, st), do: halt_now(st)

  # Answered by a process the session spawns on the evaluating node, never
  # queued behind an evaluation; malformed requests get an empty answer here.
  defp handle(type, %{"id" => id} = msg, st) when type in ["complete", "inspect"] and is_integer(id) do
    kind = if type == "complete", do: :complete, else: :inspect
    code = msg["code"]
    cursor = msg["cursor"]

    length =
      if is_binary(code) and byte_size(code) <= 4 * @max_query_code,
        do: length(String.to_charlist(code)),
        else: :too_long

    {ready, st} = complete_ready(st)

    if ready and is_integer(length) and length <= @max_query_code and is_integer(cursor) and
         cursor >= 0 and cursor <= length do
      c = msg["container"]
      prev = if p = key(msg["prev"]), do: {key(msg["prev_container"] || c), p}
      detail = if msg["detail"] == 1, do: 1, else: 0
      send(st.session, {:query, kind, id, prev, code, cursor, detail, self()})
      st
    else
      here = if is_integer(length) and is_integer(cursor) and cursor in 0..length, do: cursor, else: 0
      frame(st.port, @complete_mod.empty(kind, id, here))
      st
    end
  end

  defp handle("input_reply", msg, st) do
    value = msg["value"]
    send(st.gl, {:runyard_input, if(is_binary(value), do: value)})
    st
  end

  defp handle(type, msg, st),
    do: log(st, "warn", "unknown or malformed command #{inspect(type)}: #{inspect(msg)}")

  # Refs and containers are opaque: keep strings as they are, anything else
  # (numbers) as its JSON text.
  defp key(nil), do: nil
  defp key(s) when is_binary(s), do: s
  defp key(other), do: IO.iodata_to_binary(Json.encode(other))

  defp log(st, level, message) do
    frame(st.port, %{type: "log", level: level, message: message})
    st
  end

  defp enqueue(cmd, st), do: run_next(%{st | queue: :queue.in(cmd, st.queue)})

  defp run_next(%{running: nil} = st) do
    case :queue.out(st.queue) do
      {:empty, _} ->
        st

      {{:value, {:evaluate, c, r, prev, code, file, raw_ref, options}}, q} ->
        Output.set_ref(st.gl, raw_ref, options)
        send(st.session, {:evaluate, c, r, prev, code, file, raw_ref, options})
        %{st | queue: q, running: r, options: options}

      {{:value, cmd}, q} ->
        send(st.session, cmd)
        run_next(%{st | queue: q})
    end
  end

  defp run_next(st), do: st

  # A branching section's evaluation starts at once, beside the main flow (as
  # Livebook runs a branch in a process of its own): in its container's own
  # worker, with a group leader of its own so that its output is tagged with
  # its ref whatever else runs.
  defp branch({:evaluate, c, _r, _prev, _code, _file, raw_ref, options} = cmd, st) do
    {gl, st} =
      case Map.fetch(st.branches, c) do
        {:ok, gl} ->
          {gl, st}

        :error ->
          gl = Output.start(st.port)
          {gl, %{st | branches: Map.put(st.branches, c, gl)}}
      end

    Output.set_ref(gl, raw_ref, options)
    send(st.session, :erlang.append_element(cmd, gl))
    st
  end

  # stop / EOF: exit at once, taking the OS processes that evaluations started
  # with us. erl_child_setup puts every port program in a session (and process
  # group) of its own, so the manager's kill of our process group does not
  # reach them: kill each one's process group here.
  defp halt_now(st) do
    if st.standalone, do: kill_port_programs()
    :erlang.halt(0, flush: false)
  end

  defp kill_port_programs do
    beam = System.pid()

    kids =
      for cs <- children(beam),
          match?({:ok, "erl_child_setup" <> _}, File.read("/proc/#{cs}/comm")),
          kid <- children(cs),
          do: kid

    with [_ | _] <- kids, kill when is_binary(kill) <- System.find_executable("kill") do
      args = Enum.flat_map(kids, &["-" <> &1, &1])
      System.cmd(kill, ["-KILL", "--" | args], stderr_to_stdout: true)
    end
  catch
    _, _ -> :ok
  end

  defp children(pid) do
    case File.read("/proc/#{pid}/task/#{pid}/children") do
      {:ok, kids} ->
        String.split(kids)

      _ ->
        # Kernels without /proc/PID/task/TID/children: scan /proc.
        for d <- File.ls!("/proc"),
            match?({_, ""}, Integer.parse(d)),
            {:ok, stat} <- [File.read("/proc/#{d}/stat")],
            [_, rest] <- [:binary.split(stat, ") ")],
            [_state, ppid | _] <- [String.split(rest, " ")],
            ppid == pid,
            do: d
    end
  end

  ## Joining the evaluating node

  defp join(_target, _standalone, _gl, 0),
    do: {:error, "incompatible", "could not start Runyard's node manager on the target node"}

  defp join(target, standalone, gl, attempts) do
    with :ok <- ensure_loaded(target) do
      nm =
        case remote(target, :erlang, :whereis, [@nm_name]) do
          pid when is_pid(pid) -> pid
          _ -> start_nm(target, standalone)
        end

      if is_pid(nm) do
        mref = Process.monitor(nm)
        send(nm, {:join, self(), gl})

        receive do
          {:runyard_joined, ^nm, session} ->
            Process.demonitor(mref, [:flush])
            {:ok, session}

          {:DOWN, ^mref, _, _, _} ->
            join(target, standalone, gl, attempts - 1)
        after
          4000 ->
            Process.demonitor(mref, [:flush])
            {:error, "unreachable", "the node manager on #{target} did not answer"}
        end
      else
        join(target, standalone, gl, attempts - 1)
      end
    end
  end

  defp start_nm(target, standalone) do
    # The helper facade travels with the node manager: the target has none of
    # the bridge's code (a standalone node finds it in the code path itself).
    facade = if standalone, do: nil, else: :code.get_object_code(Runyard)
    pid = Node.spawn(target, @node_mod, :nm_start, [self(), standalone, facade])
    mref = Process.monitor(pid)

    receive do
      {:runyard_nm, ^pid, :ok} ->
        Process.demonitor(mref, [:flush])
        pid

      {:runyard_nm, ^pid, {:taken, other}} ->
        Process.demonitor(mref, [:flush])
        other

      {:DOWN, ^mref, _, _, _} ->
        nil
    after
      4000 -> nil
    end
  end

  defp complete_ready(%{complete_ready: true} = st), do: {true, st}

  defp complete_ready(st) do
    ready = ensure_loaded(st.target, @complete_mod) == :ok
    {ready, %{st | complete_ready: ready}}
  end

  # Loads a module (the node module, the completion module) onto the target
  # only when it is absent or differs; its name carries the version, so a
  # load never replaces code that another Runyard version's sessions run.
  defp ensure_loaded(target, mod \\ @node_mod) do
    if target == node() do
      :ok
    else
      md5 = mod.module_info(:md5)

      case :rpc.call(target, mod, :module_info, [:md5], 4000) do
        ^md5 ->
          :ok

        _ ->
          {^mod, bin, file} = :code.get_object_code(mod)

          case :rpc.call(target, :code, :load_binary, [mod, file, bin], 4000) do
            {:module, _} ->
              :ok

            other ->
              {:error, "incompatible",
               "could not load Runyard's evaluator onto #{target} " <>
                 "(Erlang/OTP #{remote(target, :erlang, :system_info, [:otp_release])}): " <>
                 inspect(other)}
          end
      end
    end
  end

  ## Attaching: connect to the target node, with typed errors within 5 s

  defp connect(target_arg) do
    {name, host} =
      case String.split(target_arg, "@", parts: 2) do
        [name, host] -> {name, host}
        [name] -> {name, node() |> Atom.to_string() |> String.split("@") |> List.last()}
      end

    target = :"#{name}@#{host}"
    longnames = :net_kernel.longnames()

    cond do
      node() == :nonode@nohost ->
        {:error, "incompatible",
         "this bridge was started without distribution (--sname/--name), so it cannot attach"}

      not longnames and String.contains?(host, ".") ->
        {:error, "incompatible",
         "#{target} uses a long name (a fully qualified host), but this bridge runs with a " <>
           "short name; start it with --name instead of --sname"}

      true ->
        case :inet.gethostbyname(String.to_charlist(host)) do
          {:error, _} ->
            {:error, "no_host", "the host #{inspect(host)} of node #{target} cannot be resolved"}

          {:ok, _} ->
            connect_epmd(target, name, host)
        end
    end
  end

  defp connect_epmd(target, name, host) do
    case :erl_epmd.port_please(String.to_charlist(name), String.to_charlist(host), 2000) do
      {:port, _, _} ->
        case timed(fn -> :net_kernel.hidden_connect_node(target) end, 3000) do
          {:ok, true} ->
            check_target(target)

          {:ok, _} ->
            {:error, "wrong_cookie",
             "node #{target} is running but refused the connection; " <>
               "the cookie is probably wrong (it must equal the target node's cookie)"}

          :timeout ->
            {:error, "unreachable",
             "connecting to node #{target} timed out; it may be unreachable or the cookie may be wrong"}
        end

      :noport ->
        {:error, "unreachable",
         "no node named #{inspect(name)} is running on #{host} (epmd there does not know it)"}

      _ ->
        {:error, "unreachable",
         "cannot reach node #{target}: epmd on #{host} does not answer " <>
           "(the node may be down, a firewall may block it, or the cookie may be wrong)"}
    end
  end

  defp check_target(target) do
    case :rpc.call(target, System, :version, [], 4000) do
      v when is_binary(v) ->
        if Version.match?(v, ">= 1.14.0") do
          {:ok, target}
        else
          {:error, "incompatible", "node #{target} runs Elixir #{v}; Runyard needs 1.14 or later"}
        end

      _ ->
        otp = :rpc.call(target, :erlang, :system_info, [:otp_release], 4000)

        {:error, "incompatible",
         "node #{target} (Erlang/OTP #{inspect(otp)}) does not run Elixir; Runyard needs Elixir 1.14 or later there"}
    end
  end

  defp timed(fun, timeout) do
    task = Task.async(fun)

    case Task.yield(task, timeout) || Task.shutdown(task, :brutal_kill) do
      {:ok, v} -> {:ok, v}
      _ -> :timeout
    end
  end
end

node_module = RunyardAgent.Version.node_module()

defmodule node_module do
  @moduledoc false
  # Everything here runs on the evaluating node (the attached target, or this
  # node when standalone). It must not call the other RunyardAgent modules,
  # which exist only on the bridge.

  @vsn RunyardAgent.Version.vsn()
  @complete_mod RunyardAgent.Version.complete_module()
  @nm_name :"runyard_nm_#{@vsn}"
  @table :"runyard_gls_#{@vsn}"
  @handler :"runyard_#{@vsn}"
  @max_value 1_000_000

  ## Node manager: one per node (per Runyard version), shared by the sessions
  ## of every bridge attached to the node. Sets the node up when the first
  ## session joins, undoes everything and unloads this module when the last
  ## one leaves.

  def nm_start(caller, standalone, facade) do
    try do
      Process.register(self(), @nm_name)
    rescue
      ArgumentError ->
        send(caller, {:runyard_nm, self(), {:taken, Process.whereis(@nm_name)}})
        exit(:normal)
    end

    st = Map.put(nm_setup(standalone), :facade, install_facade(facade))
    send(caller, {:runyard_nm, self(), :ok})
    nm_loop(st)
  end

  defp nm_setup(standalone) do
    Process.flag(:trap_exit, true)
    table = :ets.new(@table, [:named_table, :public, :set, read_concurrency: true])

    orig = Process.whereis(:standard_error)
    fwd = spawn(__MODULE__, :fwd_loop, [orig])

    if orig do
      try do
        Process.unregister(:standard_error)
      rescue
        _ -> :ok
      end
    end

    Process.register(fwd, :standard_error)

    conflict = Code.get_compiler_option(:ignore_module_conflict)
    Code.put_compiler_option(:ignore_module_conflict, true)

    :logger.add_handler(@handler, __MODULE__, %{
      level: :all,
      config: %{standalone: standalone, orig: orig}
    })

    # Standalone: nothing may reach fd 1 (the protocol channel), so the console
    # backend (which writes to :user, i.e. stdout) goes; our handler writes
    # what evaluations log as their stderr output and everything else to the
    # real stderr.
    console =
      standalone and
        try do
          Logger.remove_backend(:console) == :ok
        catch
          _, _ -> false
        end

    %{
      table: table,
      orig: orig,
      fwd: fwd,
      conflict: conflict,
      console: console,
      standalone: standalone,
      sessions: %{}
    }
  end

  # The `Runyard` helpers: a project's own `Runyard` module (one without our
  # marker) wins and is left alone; one of ours (any version, or the standalone
  # node's from the code path) is kept; otherwise ours is loaded, and removed
  # with the last session (:loaded).
  defp install_facade(facade) do
    case :code.ensure_loaded(Runyard) do
      {:module, _} ->
        if function_exported?(Runyard, :__runyard_vsn__, 0), do: :kept, else: :project

      _ ->
        with {Runyard, bin, file} <- facade,
             {:module, _} <- :code.load_binary(Runyard, file, bin) do
          :loaded
        else
          _ -> :absent
        end
    end
  end

  defp nm_loop(st) do
    receive do
      {:join, main, gl} ->
        :ets.insert(@table, {gl})
        pid = spawn(__MODULE__, :session_start, [main, gl])
        mref = Process.monitor(pid)
        send(main, {:runyard_joined, self(), pid})
        nm_loop(%{st | sessions: Map.put(st.sessions, mref, gl)})

      {:DOWN, mref, :process, _, _} ->
        case Map.pop(st.sessions, mref) do
          {nil, _} ->
            nm_loop(st)

          {gl, sessions} ->
            unless gl in Map.values(sessions), do: :ets.delete(@table, gl)
            st = %{st | sessions: sessions}

            if map_size(sessions) == 0 do
              receive do
                {:join, _, _} = msg ->
                  send(self(), msg)
                  nm_loop(st)
              after
                0 -> nm_teardown(st)
              end
            else
              nm_loop(st)
            end
        end

      _ ->
        nm_loop(st)
    end
  end

  defp nm_teardown(st) do
    Process.unregister(@nm_name)
    :logger.remove_handler(@handler)

    if st.console do
      try do
        Logger.add_backend(:console)
      catch
        _, _ -> :ok
      end
    end

    Code.put_compiler_option(:ignore_module_conflict, st.conflict)

    if Process.whereis(:standard_error) == st.fwd do
      Process.unregister(:standard_error)
      if st.orig && Process.alive?(st.orig), do: Process.register(st.orig, :standard_error)
    end

    Process.exit(st.fwd, :kill)
    :ets.delete(st.table)

    # The facade goes too, unless another Runyard version has put its own in
    # its place since.
    if st.facade == :loaded and match?({:file, _}, :code.is_loaded(Runyard)) and
         function_exported?(Runyard, :__runyard_vsn__, 0) and Runyard.__runyard_vsn__() == @vsn do
      :code.purge(Runyard)
      :code.delete(Runyard)
      :erlang.spawn(:code, :purge, [Runyard])
    end

    # The completion module, if a bridge loaded it (a standalone node halts anyway).
    if not st.standalone and match?({:file, _}, :code.is_loaded(@complete_mod)) do
      :code.purge(@complete_mod)
      :code.delete(@complete_mod)
      :erlang.spawn(:code, :purge, [@complete_mod])
    end

    # Unload: make the code old, then purge it from a process that does not
    # run it (the purge also ends anything still running it, us included).
    :code.delete(__MODULE__)
    :erlang.spawn(:code, :purge, [__MODULE__])
    exit(:normal)
  end

  ## standard_error forwarder: requests from processes whose group leader is
  ## one of ours go to that group leader as stderr; others to the original.

  def fwd_loop(orig) do
    receive do
      {:io_request, from, reply_as, req} = msg ->
        gl = group_leader_of(from)

        if gl != nil and ours?(gl) do
          send(gl, {:io_request, from, reply_as, {:runyard_stderr, req}})
        else
          # (The original may be gone when another Runyard version's forwarder
          # was stacked on ours and has left: drop rather than hang the caller.)
          if orig != nil and Process.alive?(orig),
            do: send(orig, msg),
            else: send(from, {:io_reply, reply_as, :ok})
        end

      _ ->
        :ok
    end

    fwd_loop(orig)
  end

  defp group_leader_of(pid) when is_pid(pid) and node(pid) == node() do
    case Process.info(pid, :group_leader) do
      {:group_leader, gl} -> gl
      _ -> nil
    end
  end

  defp group_leader_of(_), do: nil

  defp ours?(gl) do
    :ets.member(@table, gl)
  catch
    _, _ -> false
  end

  ## :logger handler (runs in the process that logs)

  def log(%{meta: meta} = event, %{config: cfg}) do
    gl = Map.get(meta, :gl)

    cond do
      is_pid(gl) and ours?(gl) ->
        :io.request(gl, {:runyard_stderr, {:put_chars, :unicode, format_log(event)}})

      cfg.standalone and cfg.orig != nil ->
        :io.put_chars(cfg.orig, format_log(event))

      true ->
        :ok
    end
  catch
    _, _ -> :ok
  end

  defp format_log(%{level: level, meta: meta} = event) do
    msg = :logger_formatter.format(event, %{template: [:msg], single_line: false})

    time =
      case meta do
        %{time: t} ->
          {_, {h, m, s}} = :calendar.system_time_to_local_time(div(t, 1_000_000), :second)
          ms = div(rem(t, 1_000_000), 1000)
          :io_lib.format('~2..0B:~2..0B:~2..0B.~3..0B ', [h, m, s, ms])

        _ ->
          ""
      end

    ["\n", time, "[", Atom.to_string(level), "] ", msg, "\n"]
  end

  ## Session: one per bridge. Stores the contexts (binding + env) of every
  ## evaluation, runs evaluations in per-container worker processes (killed on
  ## interrupt; the contexts stay here), answers memory requests.

  def session_start(main, gl) do
    Process.monitor(main)

    session_loop(%{
      main: main,
      gl: gl,
      contexts: %{},
      workers: %{},
      current: nil,
      # Branch evaluations running beside the main flow: worker pid => cur.
      branches: %{},
      sources: %{}
    })
  end

  defp session_loop(st) do
    receive do
      {:evaluate, c, r, prev, code, file, raw_ref, options} ->
        st = %{st | sources: Map.put(st.sources, file, code)}

        case context(st, c, prev) do
          {:ok, ctx} ->
            {worker, st} = worker_for(st, c)
            {binding, env} = if ctx == :fresh, do: {[], nil}, else: ctx
            send(worker, {:eval, code, file, binding, env, options})

            cur = %{container: c, ref: r, raw_ref: raw_ref, prev_ctx: ctx, worker: worker, file: file}
            session_loop(%{st | current: cur})

          :error ->
            err =
              error_object(
                "RunyardError",
                "no stored context for evaluation #{inspect(elem(prev, 1))} in container #{inspect(elem(prev, 0))}",
                nil,
                nil,
                [],
                "** (RunyardError) no stored context for evaluation #{inspect(elem(prev, 1))}\n"
              )

            send(st.main, {:runyard_result, raw_ref, "error", nil, err, 0})
            session_loop(st)
        end

      {:evaluate, c, r, prev, code, file, raw_ref, options, gl} ->
        st = %{st | sources: Map.put(st.sources, file, code)}

        case context(st, c, prev) do
          {:ok, ctx} ->
            {worker, st} = worker_for(st, c, gl)
            {binding, env} = if ctx == :fresh, do: {[], nil}, else: ctx
            send(worker, {:eval, code, file, binding, env, options})
            cur = %{container: c, ref: r, raw_ref: raw_ref, prev_ctx: ctx, worker: worker, file: file, branch: true}
            session_loop(%{st | branches: Map.put(st.branches, worker, cur)})

          :error ->
            cur = %{container: c, raw_ref: raw_ref, branch: true}
            send(st.main, result_msg(cur, "error", nil, no_context(prev), 0))
            session_loop(st)
        end

      {:evaluated, worker, outcome, duration} ->
        case cur_of(st, worker) do
          {cur, st} ->
            {status, value, error, ctx} =
              case outcome do
                {:ok, value, binding, env} -> {"ok", value, nil, {binding, env}}
                {:error, error} -> {"error", nil, fill_text(error, st.sources), cur.prev_ctx}
              end

            st = put_context(st, cur, ctx)
            send(st.main, result_msg(cur, status, value, error, duration))
            session_loop(st)

          nil ->
            session_loop(st)
        end

      :interrupt ->
        running = if st.current, do: [st.current], else: []

        st =
          Enum.reduce(running ++ Map.values(st.branches), st, fn %{worker: worker} = cur, st ->
            info = Process.info(worker, [:current_stacktrace, :dictionary]) || []
            stack = Keyword.get(info, :current_stacktrace, [])
            line = (Keyword.get(info, :dictionary, []) |> Keyword.get(:runyard_line)) || 1
            Process.exit(worker, :kill)
            st = drop_worker(st, cur.container, false)
            error = interrupt_error(stack, cur.file, line) |> fill_text(st.sources)
            st = put_context(st, cur, cur.prev_ctx)
            send(st.main, result_msg(cur, "interrupted", nil, error, 0))
            st
          end)

        session_loop(%{st | current: nil, branches: %{}})

      {:forget, c, r} ->
        session_loop(%{st | contexts: Map.delete(st.contexts, {c, r})})

      {:drop_container, c} ->
        st = drop_worker(st, c, true)
        contexts = for {{cc, _}, _} = kv <- st.contexts, cc != c, into: %{}, do: kv
        session_loop(%{st | contexts: contexts})

      {:memory, from} ->
        send(from, {:runyard_memory, :erlang.memory()})
        session_loop(st)

      # complete / inspect: in a process of their own, reading the context
      # of `prev` (or, while `prev` is still being evaluated, the context it
      # started from); the evaluator is never involved.
      {:query, kind, id, prev, code, cursor, detail, reply_to} ->
        ctx =
          case prev && Map.fetch(st.contexts, prev) do
            {:ok, ctx} -> ctx
            _ -> running_context(st, prev)
          end

        {binding, env} = if ctx == :fresh, do: {[], nil}, else: ctx
        spawn(@complete_mod, :answer, [kind, id, code, cursor, detail, binding, env, reply_to])
        session_loop(st)

      {:DOWN, _, :process, pid, reason} when pid == st.main ->
        session_end(st, reason)

      {:DOWN, _, :process, pid, reason} ->
        session_loop(worker_down(st, pid, reason))

      _ ->
        session_loop(st)
    end
  end

  defp running_context(%{current: %{container: c, ref: r, prev_ctx: ctx}}, {c, r}), do: ctx
  defp running_context(_st, _prev), do: :fresh

  # The evaluation a worker was running, taken off the session's state.
  defp cur_of(%{current: %{worker: w} = cur} = st, w), do: {cur, %{st | current: nil}}

  defp cur_of(st, w) do
    case Map.pop(st.branches, w) do
      {nil, _} -> nil
      {cur, branches} -> {cur, %{st | branches: branches}}
    end
  end

  defp result_msg(%{branch: true} = cur, status, value, error, duration),
    do: {:runyard_branch_result, cur.container, cur.raw_ref, status, value, error, duration}

  defp result_msg(cur, status, value, error, duration),
    do: {:runyard_result, cur.raw_ref, status, value, error, duration}

  defp no_context(prev) do
    error_object(
      "RunyardError",
      "no stored context for evaluation #{inspect(elem(prev, 1))} in container #{inspect(elem(prev, 0))}",
      nil,
      nil,
      [],
      "** (RunyardError) no stored context for evaluation #{inspect(elem(prev, 1))}\n"
    )
  end

  defp context(_st, _c, nil), do: {:ok, :fresh}
  defp context(st, _c, {prev_container, prev}), do: Map.fetch(st.contexts, {prev_container, prev})

  defp put_context(st, cur, ctx),
    do: %{st | contexts: Map.put(st.contexts, {cur.container, cur.ref}, ctx)}

  defp worker_for(st, c, gl \\ nil) do
    case Map.fetch(st.workers, c) do
      {:ok, {pid, _}} ->
        {pid, st}

      :error ->
        pid = spawn(__MODULE__, :worker_start, [self(), gl || st.gl])
        mref = Process.monitor(pid)
        {pid, %{st | workers: Map.put(st.workers, c, {pid, mref})}}
    end
  end

  defp drop_worker(st, c, kill) do
    case Map.pop(st.workers, c) do
      {{pid, mref}, workers} ->
        Process.demonitor(mref, [:flush])
        if kill, do: Process.exit(pid, :kill)
        %{st | workers: workers}

      {nil, _} ->
        st
    end
  end

  defp worker_down(st, pid, reason) do
    case Enum.find(st.workers, fn {_, {p, _}} -> p == pid end) do
      nil ->
        st

      {c, _} ->
        st = %{st | workers: Map.delete(st.workers, c)}

        case cur_of(st, pid) do
          {cur, st} ->
            msg = Exception.format_exit(reason)

            err =
              error_object(
                "exit",
                msg,
                nil,
                nil,
                [],
                "** (exit) the evaluation process exited: #{msg}\n"
              )

            st = put_context(st, cur, cur.prev_ctx)
            send(st.main, result_msg(cur, "error", nil, err, 0))
            st

          nil ->
            st
        end
    end
  end

  # The bridge is gone: end every process this session started on the node
  # (workers and anything they spawned: they all have the bridge's group
  # leader).
  defp session_end(st, _reason) do
    for {_, {pid, _}} <- st.workers, do: Process.exit(pid, :kill)

    for pid <- Process.list(), pid != self() do
      case Process.info(pid, :group_leader) do
        {:group_leader, gl} when gl == st.gl -> Process.exit(pid, :kill)
        _ -> :ok
      end
    end

    exit(:normal)
  end

  ## Evaluation worker (one per container; its group leader is the bridge's
  ## Output process, which every process it spawns inherits)

  def worker_start(session, gl) do
    Process.group_leader(self(), gl)
    worker_loop(session)
  end

  defp worker_loop(session) do
    receive do
      {:eval, code, file, binding, env, options} ->
        t0 = System.monotonic_time(:microsecond)
        outcome = eval(code, file, binding, env, options)
        dt = System.monotonic_time(:microsecond) - t0
        send(session, {:evaluated, self(), outcome, dt})
        worker_loop(session)
    end
  end

  defp eval(code, file, binding, env, options) do
    Process.put(:runyard_line, 1)
    quoted = Code.string_to_quoted!(code, file: file, line: 1, columns: true)

    env =
      if env,
        do: Code.env_for_eval(%{env | file: file, line: 1}),
        else: Code.env_for_eval(file: file, line: 1)

    exprs =
      case quoted do
        {:__block__, _, exprs} when is_list(exprs) -> exprs
        expr -> [expr]
      end

    # Top-level expressions one at a time, so that the line of the one that
    # fails (or is interrupted) is known: eval'd code has no stack frames.
    {value, binding, env} =
      Enum.reduce(exprs, {nil, binding, env}, fn expr, {_, b, e} ->
        case expr do
          {_, meta, _} when is_list(meta) ->
            if l = meta[:line], do: Process.put(:runyard_line, l)

          _ ->
            :ok
        end

        Code.eval_quoted_with_env(expr, b, e)
      end)

    value = if exprs == [], do: nil, else: to_bundle(value, options)
    {:ok, value, binding, env}
  catch
    kind, reason ->
      {:error, error(kind, reason, __STACKTRACE__, file, Process.get(:runyard_line, 1))}
  end

  ## Rich outputs: a value (or a displayed term) becomes a MIME bundle
  ## %{data: %{mime => data}, metadata: %{}}, encoded to JSON on the bridge.

  @default_options %{width: 100, table_rows: 1000, max_output_bytes: 20 * 1024 * 1024}
  @table_mime "application/vnd.dataresource+json"
  @images %{
    png: "image/png",
    jpeg: "image/jpeg",
    jpg: "image/jpeg",
    gif: "image/gif",
    webp: "image/webp",
    svg: "image/svg+xml"
  }

  @doc false
  def to_bundle(value, options) do
    case value do
      # What the Runyard helpers return (a plain map: no module needed to read it).
      %{__runyard_output__: %{data: _} = bundle} ->
        bundle

      # Livebook's rule: a module's bytecode is not worth more than a glance.
      {:module, _, _, _} ->
        plain(inspect_text(value, options, 10))

      # Scalars print the same pretty or not, and pretty costs a layout pass.
      scalar when is_number(scalar) or is_atom(scalar) ->
        plain(inspect(scalar))

      _ ->
        kino_bundle(value) || plain(inspect_text(value, options, 50))
    end
  end

  # Livebook's inspect (pretty, limit 50, the width asked for), except that
  # strings are shown whole up to the value cap, which the text is cut at.
  defp inspect_text(value, options, limit) do
    s = inspect(value, pretty: true, width: options.width, limit: limit, printable_limit: @max_value)
    if String.length(s) > @max_value, do: String.slice(s, 0, @max_value), else: s
  end

  defp plain(text), do: %{data: %{"text/plain" => text}, metadata: %{}}

  defp output(data), do: %{__runyard_output__: %{data: data, metadata: %{}}}

  ## Kino: on a node that has it, values with their own Kino.Render
  ## implementation show as Livebook shows them, as far as a bundle can.

  @kino Kino.Render

  defp kino_bundle(value) do
    # Asking the code server for a module that is not there searches the whole
    # code path (about a millisecond a value): only where Kino is installed.
    if :application.get_key(:kino, :vsn) != :undefined and Code.ensure_loaded?(@kino) and
         function_exported?(@kino, :impl_for, 1) do
      # Kino's catch-all implementation is its own inspect: ours (with the width) is used instead.
      case apply(@kino, :impl_for, [value]) do
        nil -> nil
        Kino.Render.Any -> nil
        _ -> from_kino(apply(@kino, :to_livebook, [value]))
      end
    end
  catch
    _, _ -> nil
  end

  # Livebook's output maps (2023 on) and the tuples before them.
  defp from_kino(%{type: :image, content: content, mime_type: mime}), do: image_bundle(content, mime)
  defp from_kino(%{type: :markdown, text: text}), do: markdown_bundle(text)
  defp from_kino(%{type: type, text: text}) when type in [:plain_text, :terminal_text], do: text_bundle(text)
  defp from_kino({:image, content, mime}), do: image_bundle(content, mime)
  defp from_kino({:markdown, text}), do: markdown_bundle(text)
  defp from_kino({:markdown, text, _}), do: markdown_bundle(text)
  defp from_kino({type, text}) when type in [:text, :plain_text, :stdout], do: text_bundle(text)
  defp from_kino({type, text, _}) when type in [:plain_text, :terminal_text], do: text_bundle(text)
  defp from_kino(_), do: nil

  # Terminal text carries ANSI colours (Kino's inspect); text/plain does not.
  defp text_bundle(text) when is_binary(text),
    do: plain(Regex.replace(~r/\e\[[0-9;]*[A-Za-z]/, text, ""))

  defp text_bundle(_), do: nil

  defp markdown_bundle(text) when is_binary(text),
    do: %{data: %{"text/markdown" => text, "text/plain" => text}, metadata: %{}}

  defp markdown_bundle(_), do: nil

  defp image_bundle(content, mime) when is_binary(content) do
    case image_mime(mime) do
      "image/svg+xml" = svg ->
        if String.valid?(content),
          do: %{data: %{svg => content, "text/plain" => image_text(svg, content)}, metadata: %{}}

      nil ->
        nil

      raster ->
        %{
          data: %{raster => Base.encode64(content), "text/plain" => image_text(raster, content)},
          metadata: image_size(raster, content)
        }
    end
  end

  # Jupyter's size metadata, where the header says it cheaply (PNG, GIF).
  defp image_size(mime, <<137, 80, 78, 71, 13, 10, 26, 10, _::32, "IHDR", w::32, h::32, _::binary>>)
       when w > 0 and h > 0,
       do: %{mime => %{width: w, height: h}}

  defp image_size(mime, <<"GIF8", _, _, w::little-16, h::little-16, _::binary>>) when w > 0 and h > 0,
    do: %{mime => %{width: w, height: h}}

  defp image_size(_, _), do: %{}

  defp image_bundle(_, _), do: nil

  defp image_text(mime, content), do: "[#{mime} image, #{byte_size(content)} bytes]"

  defp image_mime(mime) when is_atom(mime), do: Map.get(@images, mime)

  defp image_mime(mime) when is_binary(mime) do
    mime = String.downcase(mime)

    cond do
      mime in Map.values(@images) -> mime
      m = Map.get(@images, String.to_existing_atom(mime)) -> m
      true -> nil
    end
  rescue
    ArgumentError -> nil
  end

  defp image_mime(_), do: nil

  ## The Runyard helpers (the `Runyard` module delegates here)

  @doc false
  def rn_image(content, mime) do
    case image_bundle(content, mime) do
      %{data: data, metadata: metadata} ->
        %{__runyard_output__: %{data: data, metadata: metadata}}

      nil ->
        raise ArgumentError,
              "Runyard.image/2 expects a binary and one of #{inspect(Map.keys(@images))} " <>
                "or an image/png, image/jpeg, image/gif, image/webp or image/svg+xml MIME type " <>
                "(SVG as UTF-8 text), got: #{inspect(mime)}"
    end
  end

  @doc false
  def rn_markdown(text) when is_binary(text), do: output(markdown_bundle(text).data)

  def rn_markdown(other),
    do: raise(ArgumentError, "Runyard.markdown/1 expects a string, got: #{inspect(other, limit: 10)}")

  @doc false
  def rn_table(rows) when is_list(rows) do
    max = rn_options().table_rows
    rows = Enum.map(rows, &row_pairs/1)
    total = length(rows)
    shown = Enum.take(rows, max)

    # Columns in the order they first appear, over every row.
    names =
      rows
      |> Enum.flat_map(fn pairs -> Enum.map(pairs, &elem(&1, 0)) end)
      |> Enum.uniq()

    fields = Enum.map(names, &%{"name" => &1, "type" => column_type(shown, &1)})
    data = Enum.map(shown, fn pairs -> Map.new(pairs, fn {k, v} -> {k, cell_json(v)} end) end)

    output(%{
      @table_mime => %{"schema" => %{"fields" => fields}, "data" => data, "total_rows" => total},
      "text/plain" => text_table(names, shown, total)
    })
  end

  def rn_table(other),
    do: raise(ArgumentError, "Runyard.table/1 expects a list of maps or keyword lists, got: #{inspect(other, limit: 10)}")

  defp row_pairs(%_{} = struct), do: row_pairs(Map.from_struct(struct))
  defp row_pairs(row) when is_map(row), do: Enum.map(row, fn {k, v} -> {column_name(k), v} end)

  defp row_pairs(row) when is_list(row) do
    if Keyword.keyword?(row),
      do: Enum.map(row, fn {k, v} -> {column_name(k), v} end),
      else: not_a_row(row)
  end

  defp row_pairs(row), do: not_a_row(row)

  defp not_a_row(row),
    do: raise(ArgumentError, "Runyard.table/1: each row must be a map or a keyword list, got: #{inspect(row, limit: 10)}")

  defp column_name(k) when is_atom(k), do: Atom.to_string(k)
  defp column_name(k) when is_binary(k), do: k
  defp column_name(k), do: inspect(k)

  # Frictionless types, from the values sent (nil says nothing).
  defp column_type(rows, name) do
    types =
      for pairs <- rows, {^name, v} <- pairs, v != nil, uniq: true do
        case v do
          v when is_boolean(v) -> "boolean"
          v when is_integer(v) -> "integer"
          v when is_float(v) -> "number"
          v when is_binary(v) or is_atom(v) -> "string"
          %Date{} -> "date"
          %Time{} -> "time"
          %DateTime{} -> "datetime"
          %NaiveDateTime{} -> "datetime"
          _ -> "any"
        end
      end

    case types do
      [type] -> type
      [_, _] -> if Enum.sort(types) == ["integer", "number"], do: "number", else: "any"
      _ -> "any"
    end
  end

  defp cell_json(v) when is_nil(v) or is_boolean(v) or is_number(v), do: v
  defp cell_json(v) when is_atom(v), do: Atom.to_string(v)
  defp cell_json(v) when is_binary(v), do: if(String.valid?(v), do: v, else: inspect(v))
  defp cell_json(%m{} = v) when m in [Date, Time, DateTime, NaiveDateTime], do: m.to_iso8601(v)
  defp cell_json(v), do: inspect(v, limit: 10)

  defp text_table(names, rows, total) do
    cell = fn v ->
      s = if is_binary(v) and String.valid?(v), do: v, else: inspect(v, limit: 5)
      s = String.replace(s, ~r/\s+/, " ")
      if String.length(s) > 40, do: String.slice(s, 0, 39) <> "…", else: s
    end

    lines = Enum.map(rows, fn pairs -> Enum.map(names, &cell.(Map.get(Map.new(pairs), &1, ""))) end)
    header = Enum.map(names, cell)

    widths =
      Enum.reduce([header | lines], Enum.map(names, fn _ -> 0 end), fn line, ws ->
        Enum.zip_with(line, ws, &max(String.length(&1), &2))
      end)

    row = fn line ->
      line |> Enum.zip_with(widths, &String.pad_trailing(&1, &2)) |> Enum.join(" | ") |> String.trim_trailing()
    end

    rule = widths |> Enum.map(&String.duplicate("-", &1)) |> Enum.join("-+-")
    more = if total > length(rows), do: ["(#{length(rows)} of #{total} rows)"], else: []

    Enum.join([row.(header), rule | Enum.map(lines, row)] ++ more, "\n")
  end

  @doc false
  def rn_display(term, opts) when is_list(opts) do
    id = opts[:display_id]
    send_display(term, id && to_string(id), false)
  end

  @doc false
  def rn_update(id, term), do: send_display(term, to_string(id), true)

  # Through the group leader, like the text the cell writes: it flushes that
  # first, so the display lands between what was printed before and after.
  defp send_display(term, id, update) do
    bundle = to_bundle(term, rn_options())

    case :io.request(Process.group_leader(), {:runyard_display, bundle, id, update}) do
      :ok -> :ok
      _ -> {:error, :not_in_a_runyard_evaluation}
    end
  end

  # The display options of the running evaluation, from the group leader
  # (any process an evaluation spawns has it too); defaults elsewhere.
  @doc false
  def rn_options do
    case :io.request(Process.group_leader(), {:runyard_options}) do
      %{width: _, table_rows: _, max_output_bytes: _} = options -> options
      _ -> @default_options
    end
  end

  ## Errors

  @syntax [SyntaxError, TokenMissingError, CompileError, MismatchedDelimiterError]

  defp error(kind, reason, stacktrace, file, line) do
    frames = prune(stacktrace)

    {kind_name, message, reason} =
      case kind do
        :error ->
          e = Exception.normalize(:error, reason, stacktrace)
          {inspect(e.__struct__), safe_message(e), e}

        :throw ->
          {"throw", inspect(reason), reason}

        :exit ->
          {"exit", Exception.format_exit(reason), reason}
      end

    compile? = kind == :error and reason.__struct__ in @syntax and frames == []

    {frames, line, column} =
      if compile? do
        {[], Map.get(reason, :line), Map.get(reason, :column)}
      else
        frames = frames ++ [{:elixir_eval, :__FILE__, 1, [file: String.to_charlist(file), line: line]}]
        {frames, innermost_line(frames, file), nil}
      end

    formatted = Exception.format(kind, reason, frames)
    error_object(kind_name, message, line, column, json_frames(frames), formatted)
  end

  defp safe_message(e) do
    Exception.message(e)
  catch
    _, _ -> inspect(e)
  end

  defp interrupt_error(stack, file, line) do
    frames =
      prune(stack) ++
        [{:elixir_eval, :__FILE__, 1, [file: String.to_charlist(file), line: line]}]

    formatted =
      "** (interrupt) evaluation interrupted\n" <> Exception.format_stacktrace(frames)

    error_object(
      "interrupt",
      "evaluation interrupted",
      innermost_line(frames, file),
      nil,
      json_frames(frames),
      formatted
    )
  end

  defp error_object(kind, message, line, column, frames, formatted) do
    %{
      kind: kind,
      message: message,
      line: line,
      column: column,
      frames: frames,
      formatted: formatted
    }
  end

  @internal [:erl_eval, :elixir, :elixir_eval, :elixir_expand, :elixir_compiler,
             :elixir_lexical, :elixir_dispatch, :elixir_clauses, :elixir_def,
             :elixir_module, :elixir_erl_pass, :elixir_fn, :elixir_bootstrap]

  # The user's frames only: drop everything from the eval machinery outwards,
  # and the eval machinery's own frames within.
  defp prune(stacktrace) do
    stacktrace
    |> Enum.take_while(fn
      {:elixir, :eval_forms, _, _} -> false
      {Code, :eval_quoted_with_env, _, _} -> false
      {__MODULE__, _, _, _} -> false
      _ -> true
    end)
    |> Enum.reject(fn
      {m, _, _, _} -> m in @internal or m == Module.ParallelChecker
      _ -> true
    end)
  end

  defp innermost_line(frames, file) do
    Enum.find_value(frames, fn {_, _, _, loc} ->
      if to_string(loc[:file]) == file, do: loc[:line]
    end)
  end

  # Outermost first, as docs/protocol.md asks.
  defp json_frames(frames) do
    frames
    |> Enum.reverse()
    |> Enum.map(fn {m, f, a, loc} = entry ->
      name =
        case entry do
          {_, :__FILE__, 1, _} -> "(file)"
          {_, :__MODULE__, _, _} -> "(module)"
          _ -> Exception.format_mfa(m, f, a)
        end

      # A frame without a location (a call into a module that is not
      # there) has file "": the protocol's `file` is always a string.
      %{file: to_string(loc[:file] || ""), line: loc[:line], name: name, text: nil}
    end)
  end

  defp fill_text(%{frames: frames} = error, sources) do
    frames =
      Enum.map(frames, fn frame ->
        with file when is_binary(file) <- frame.file,
             {:ok, code} <- Map.fetch(sources, file),
             line when is_integer(line) and line > 0 <- frame.line,
             text when is_binary(text) <- code |> String.split("\n") |> Enum.at(line - 1) do
          %{frame | text: String.trim(text)}
        else
          _ -> frame
        end
      end)

    %{error | frames: frames}
  end
end

complete_module = RunyardAgent.Version.complete_module()

defmodule complete_module do
  @moduledoc false
  # Completion and documentation (docs/protocol.md: complete, inspect) on the
  # evaluating node, in a process the session spawns for each request: never
  # the evaluator, so an answer comes while a cell runs. A module of its own,
  # loaded on first use (a standalone node loads it from the code path when
  # first called; a bridge loads it onto its target at its first request):
  # start-up pays nothing for it. Like the node module it runs on the target,
  # so it calls none of the bridge's modules.
  #
  # Names come from the context's binding and environment (aliases, imports),
  # from loaded and available modules (`:code.all_available/0`), and from
  # modules' exports; signatures and docs from their docs chunks
  # (`Code.fetch_docs/1`). Looking a module up loads it (`Code.ensure_loaded/1`),
  # which runs its `@on_load` hook if it has one; nothing else runs.

  @max_matches 500
  @max_doc 65_536
  @keywords ~w(do end fn true false nil when and or not in catch rescue after else)
  @identifier ~r/^[a-z_][a-zA-Z0-9_]*[?!]?$/

  def answer(kind, id, code, cursor, detail, binding, env, reply_to) do
    answer =
      try do
        env = env || Code.env_for_eval([])
        chars = String.to_charlist(code)
        before = Enum.take(chars, cursor)

        case kind do
          :complete ->
            {start, matches} = complete(before, cursor, binding, env)
            matches = matches |> Enum.uniq_by(& &1.text) |> Enum.take(@max_matches)
            %{type: "completions", id: id, start: start, end: cursor, matches: matches}

          :inspect ->
            case document(chars, before, detail, binding, env) do
              nil -> empty(:inspect, id, cursor)
              bundle -> %{type: "documentation", id: id, found: true, bundle: bundle}
            end
        end
      catch
        _, _ -> empty(kind, id, cursor)
      end

    send(reply_to, {:runyard_query, answer})
  end

  def empty(:complete, id, cursor), do: %{type: "completions", id: id, start: cursor, end: cursor, matches: []}

  def empty(:inspect, id, _cursor),
    do: %{type: "documentation", id: id, found: false, bundle: %{data: %{"text/plain" => ""}, metadata: %{}}}

  ## Completion

  defp complete(before, cursor, binding, env) do
    {hint, matches} =
      if lex(before) != :code do
        {[], []}
      else
        case Code.Fragment.cursor_context(before) do
          {:alias, hint} -> {last_segment(hint), aliases(List.to_string(hint), env)}
          {:struct, hint} when is_list(hint) -> {last_segment(hint), aliases(List.to_string(hint), env)}
          {:dot, inside, hint} -> {hint, dot(inside, List.to_string(hint), binding, env)}
          {:local_or_var, hint} -> {hint, locals(List.to_string(hint), binding, env)}
          {:unquoted_atom, hint} -> {hint, erlang_modules(List.to_string(hint))}
          _ -> {[], []}
        end
      end

    {cursor - length(hint), matches}
  end

  defp last_segment(hint), do: hint |> Enum.reverse() |> Enum.take_while(&(&1 != ?.)) |> Enum.reverse()

  # Where the text before the cursor ends: in code, a string or a comment.
  # Code.Fragment reads any text as code (`"Enum.ma` would be completed).
  defp lex(chars), do: lex(chars, :code)
  defp lex([], state), do: state
  defp lex([?\\, _ | rest], {:in, _} = state), do: lex(rest, state)

  defp lex(chars, {:in, close} = state) do
    if List.starts_with?(chars, close), do: lex(Enum.drop(chars, length(close)), :code), else: lex(tl(chars), state)
  end

  defp lex([q, q, q | rest], :code) when q in [?", ?'], do: lex(rest, {:in, [q, q, q]})
  defp lex([q | rest], :code) when q in [?", ?'], do: lex(rest, {:in, [q]})
  defp lex([??, _ | rest], :code), do: lex(rest, :code)

  defp lex([?~, l, d | rest], :code) when l in ?a..?z or l in ?A..?Z do
    close = %{?( => ?), ?[ => ?], ?{ => ?}, ?< => ?>}

    case {d, rest} do
      {q, [q, q | rest]} when q in [?", ?'] -> lex(rest, {:in, [q, q, q]})
      {d, rest} when d in [?/, ?|, ?", ?', ?(, ?[, ?{, ?<] -> lex(rest, {:in, [Map.get(close, d, d)]})
      _ -> lex([d | rest], :code)
    end
  end

  defp lex([?# | rest], :code) do
    case Enum.drop_while(rest, &(&1 != ?\n)) do
      [] -> :comment
      rest -> lex(rest, :code)
    end
  end

  defp lex([_ | rest], :code), do: lex(rest, :code)
  defp lex(_, {:in, _}), do: :string

  defp module_names do
    loaded = for {mod, _} <- :code.all_loaded(), do: Atom.to_string(mod)
    available = for {name, _, _} <- :code.all_available(), do: List.to_string(name)
    Enum.uniq(loaded ++ available)
  end

  # `Enu` or `String.Cha`: the next segment of every module name there is.
  defp aliases(hint, env) do
    {base, [last]} = hint |> String.split(".") |> Enum.split(-1)

    names =
      case base do
        [] ->
          aliased = for {alias, _} <- env.aliases, do: alias |> Atom.to_string() |> String.replace_prefix("Elixir.", "")
          tops = for "Elixir." <> rest <- module_names(), do: rest |> String.split(".") |> hd()
          aliased ++ tops

        _ ->
          prefix = Atom.to_string(expand(base, env)) <> "."

          for name <- module_names(), String.starts_with?(name, prefix),
              do: name |> String.replace_prefix(prefix, "") |> String.split(".") |> hd()
      end

    names
    |> Enum.filter(&String.starts_with?(&1, last))
    |> Enum.uniq()
    |> Enum.sort()
    |> Enum.map(&%{text: &1, kind: "module"})
  end

  # The module an alias names here (`alias Foo.Bar` makes `Bar` mean Foo.Bar).
  defp expand([first | rest], env) do
    head = Module.concat([first])
    Module.concat([Keyword.get(env.aliases, head, head) | rest])
  end

  defp dot({:alias, mod}, hint, _binding, env) do
    name = List.to_string(mod)
    functions(expand(String.split(name, "."), env), hint) ++ aliases(name <> "." <> hint, env)
  end

  defp dot({:unquoted_atom, mod}, hint, _binding, _env) do
    case existing_atom(mod) do
      nil -> []
      mod -> functions(mod, hint)
    end
  end

  # `map.` : a map's (or struct's) atom keys.
  defp dot({:var, var}, hint, binding, _env) do
    case Keyword.get(binding, existing_atom(var)) do
      %{} = map ->
        for {key, _} <- map, is_atom(key), key != :__struct__, name = Atom.to_string(key),
            String.starts_with?(name, hint),
            do: %{text: name, kind: "attribute"}

      _ ->
        []
    end
  end

  defp dot(_, _, _, _), do: []

  defp existing_atom(chars) do
    List.to_existing_atom(chars)
  rescue
    _ -> nil
  end

  defp functions(mod, hint) do
    case exports(mod) do
      [] ->
        []

      exports ->
        docs = docs(mod)

        exports
        |> Enum.filter(fn {name, _} -> visible(Atom.to_string(name), hint) end)
        |> Enum.group_by(&elem(&1, 0), &elem(&1, 1))
        |> Enum.reject(fn {name, _} -> Map.get(docs, name) == :hidden end)
        |> Enum.sort()
        |> Enum.map(fn {name, arities} -> function_match(name, arities, Map.get(docs, name)) end)
    end
  end

  defp function_match(name, arities, docs) do
    signature =
      case docs do
        [_ | _] -> docs |> Enum.flat_map(fn {_, sigs, _} -> sigs end) |> Enum.uniq()
        _ -> arities |> Enum.sort() |> Enum.uniq() |> Enum.map(&"#{name}/#{&1}")
      end

    %{text: Atom.to_string(name), kind: "function", signature: Enum.join(signature, "\n")}
  end

  defp visible(name, hint) do
    String.starts_with?(name, hint) and (not String.starts_with?(name, "_") or String.starts_with?(hint, "_")) and
      (name != "module_info" or hint == "module_info")
  end

  defp exports(mod) do
    case Code.ensure_loaded(mod) do
      {:module, _} ->
        if function_exported?(mod, :__info__, 1),
          do: mod.__info__(:functions) ++ mod.__info__(:macros),
          else: mod.module_info(:exports)

      _ ->
        []
    end
  end

  # name => [{arity, signatures, doc}] (Markdown docs only), or :hidden when
  # every arity is (`@doc false`).
  defp docs(mod) do
    case Code.fetch_docs(mod) do
      {:docs_v1, _, _, "text/markdown", _, _, entries} ->
        entries
        |> Enum.filter(&match?({{kind, _, _}, _, _, _, _} when kind in [:function, :macro], &1))
        |> Enum.group_by(fn {{_, name, _}, _, _, _, _} -> name end, fn {{_, _, arity}, _, sigs, doc, _} ->
          {arity, sigs, doc}
        end)
        |> Map.new(fn {name, list} ->
          case Enum.reject(list, &(elem(&1, 2) == :hidden)) do
            [] -> {name, :hidden}
            shown -> {name, Enum.sort(shown)}
          end
        end)

      _ ->
        %{}
    end
  end

  defp locals(hint, binding, env) do
    vars =
      for {name, _} <- binding, is_atom(name), name = Atom.to_string(name), visible(name, hint),
          do: %{text: name, kind: "variable"}

    special = {Kernel.SpecialForms, Kernel.SpecialForms.__info__(:macros)}

    imported =
      for {mod, funs} <- env.functions ++ env.macros ++ [special],
          {name, arity} <- funs,
          text = Atom.to_string(name),
          visible(text, hint) and text =~ @identifier,
          do: {mod, name, arity}

    docs = imported |> Enum.map(&elem(&1, 0)) |> Enum.uniq() |> Map.new(&{&1, docs(&1)})

    imported =
      imported
      |> Enum.group_by(fn {mod, name, _} -> {mod, name} end, fn {_, _, arity} -> arity end)
      |> Enum.sort_by(fn {{_, name}, _} -> name end)
      |> Enum.map(fn {{mod, name}, arities} -> function_match(name, arities, Map.get(docs[mod], name)) end)

    keywords = for k <- @keywords, String.starts_with?(k, hint), do: %{text: k, kind: "keyword"}
    vars ++ imported ++ keywords
  end

  defp erlang_modules(hint) do
    for name <- module_names(), not String.starts_with?(name, "Elixir."), String.starts_with?(name, hint),
        do: %{text: name, kind: "module"}
  end

  ## Documentation

  defp document(chars, before, _detail, binding, env) do
    if lex(before) == :code do
      {line, column} = position(before)

      context =
        surround(chars, line, column) || surround(chars, line, column - 1) || call(before)

      docs_for(context, binding, env)
    end
  end

  defp position(before) do
    {line, rest} =
      Enum.reduce(before, {1, 0}, fn
        ?\n, {l, _} -> {l + 1, 0}
        _, {l, c} -> {l, c + 1}
      end)

    {line, rest + 1}
  end

  defp surround(_chars, _line, column) when column < 1, do: nil

  defp surround(chars, line, column) do
    case Code.Fragment.surround_context(chars, {line, column}) do
      %{context: context} -> context
      _ -> nil
    end
  end

  # In a call's arguments (`Enum.map(list, `): the function called.
  defp call(before) do
    case open_paren(Enum.reverse(before), 0) do
      nil ->
        nil

      head ->
        case Code.Fragment.cursor_context(Enum.reverse(head)) do
          {:dot_call, inside, name} -> {:dot, inside, name}
          {:local_call, name} -> {:local_call, name}
          _ -> nil
        end
    end
  end

  defp open_paren([], _), do: nil
  defp open_paren([?( | rest] = all, 0), do: if(rest == [], do: nil, else: all)
  defp open_paren([?( | rest], depth), do: open_paren(rest, depth - 1)
  defp open_paren([?) | rest], depth), do: open_paren(rest, depth + 1)
  defp open_paren([?\n | _], _), do: nil
  defp open_paren([_ | rest], depth), do: open_paren(rest, depth)

  defp docs_for({:alias, mod}, _binding, env), do: module_doc(expand(String.split(List.to_string(mod), "."), env))
  defp docs_for({:struct, mod}, binding, env) when is_list(mod), do: docs_for({:alias, mod}, binding, env)
  defp docs_for({:unquoted_atom, mod}, _binding, _env), do: existing_atom(mod) && module_doc(existing_atom(mod))

  defp docs_for({:dot, {:alias, mod}, name}, _binding, env),
    do: function_doc(expand(String.split(List.to_string(mod), "."), env), existing_atom(name))

  defp docs_for({:dot, {:unquoted_atom, mod}, name}, _binding, _env),
    do: existing_atom(mod) && function_doc(existing_atom(mod), existing_atom(name))

  defp docs_for({kind, name}, binding, env) when kind in [:local_or_var, :local_call, :local_arity] do
    name = existing_atom(name)

    cond do
      name == nil or (kind == :local_or_var and Keyword.has_key?(binding, name)) ->
        nil

      true ->
        special = {Kernel.SpecialForms, Kernel.SpecialForms.__info__(:macros)}

        Enum.find_value(env.functions ++ env.macros ++ [special], fn {mod, funs} ->
          if Enum.any?(funs, fn {n, _} -> n == name end), do: function_doc(mod, name)
        end)
    end
  end

  defp docs_for(_, _, _), do: nil

  defp module_doc(mod) do
    with {:module, _} <- Code.ensure_loaded(mod) do
      title = inspect(mod)

      case Code.fetch_docs(mod) do
        {:docs_v1, _, _, "text/markdown", %{"en" => doc}, _, _} ->
          bundle("# #{title}\n\n#{doc}", "#{title}\n\n#{doc}")

        _ ->
          bundle(nil, title)
      end
    else
      _ -> nil
    end
  end

  defp function_doc(_mod, nil), do: nil

  defp function_doc(mod, name) do
    arities = for {^name, arity} <- exports(mod), do: arity

    case {arities, Map.get(docs(mod), name)} do
      {[], _} ->
        nil

      {_, [_ | _] = entries} ->
        prefix = inspect(mod) <> "."

        parts =
          for {_arity, sigs, doc} <- entries do
            sigs = Enum.map_join(sigs, "\n", &(prefix <> &1))
            {sigs, doc_text(doc)}
          end

        markdown = Enum.map_join(parts, "\n\n", fn {sigs, doc} -> "```elixir\n#{sigs}\n```\n\n#{doc}" end)
        plain = Enum.map_join(parts, "\n\n", fn {sigs, doc} -> "#{sigs}\n\n#{doc}" end)
        bundle(markdown, plain)

      _ ->
        # No Markdown docs (an Erlang module without its docs installed): the arities.
        bundle(nil, arities |> Enum.sort() |> Enum.uniq() |> Enum.map_join("\n", &"#{inspect(mod)}.#{name}/#{&1}"))
    end
  end

  defp doc_text(%{"en" => text}), do: text
  defp doc_text(_), do: ""

  defp bundle(markdown, plain) do
    data = %{"text/plain" => cap(String.trim_trailing(plain))}
    data = if markdown, do: Map.put(data, "text/markdown", cap(String.trim_trailing(markdown))), else: data
    %{data: data, metadata: %{}}
  end

  defp cap(text) do
    if String.length(text) <= @max_doc,
      do: text,
      else: List.to_string(Enum.take(String.to_charlist(text), @max_doc - 1)) <> "…"
  end
end

defmodule Runyard do
  @moduledoc """
  Rich outputs in Runyard. As a cell's last value, `image/2`, `markdown/1`
  and `table/1` show as an image, Markdown or a table; `display/2` shows
  any of them (or any term, as its inspect) at once, where the cell is in
  its output, and `update/2` replaces an earlier display with an id.
  """
  # A facade over the versioned node module: this name is what users type,
  # the code behind it is the version's own (see the node manager).

  @impl_mod RunyardAgent.Version.node_module()
  @vsn RunyardAgent.Version.vsn()

  @doc false
  def __runyard_vsn__, do: @vsn

  @doc "An image: a binary and `:png`, `:jpeg`, `:gif`, `:webp`, `:svg` or a MIME type."
  def image(content, mime), do: @impl_mod.rn_image(content, mime)

  @doc "Markdown text."
  def markdown(text), do: @impl_mod.rn_markdown(text)

  @doc "A table from a list of maps or keyword lists (columns: their keys)."
  def table(rows), do: @impl_mod.rn_table(rows)

  @doc "Shows `term` now; with `display_id: id` it can be replaced by `update/2`."
  def display(term, opts \\ []), do: @impl_mod.rn_display(term, opts)

  @doc "Replaces every earlier display with this id."
  def update(id, term), do: @impl_mod.rn_update(id, term)
end
