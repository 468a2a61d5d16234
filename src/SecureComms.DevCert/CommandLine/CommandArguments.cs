using System.Diagnostics.CodeAnalysis;

namespace SecureComms.DevCert;

/// <summary>
/// The arguments of one command, parsed by hand: <c>--name value</c> or <c>--name=value</c> for options that take a
/// value, bare <c>--flag</c> for switches, everything else positional. An unknown option, a missing value or an
/// option given twice is an error; <c>--help</c> and <c>-h</c> are always known.
/// </summary>
internal sealed class CommandArguments
{
    private readonly Dictionary<string, string> _values;
    private readonly HashSet<string> _flags;

    private CommandArguments(List<string> positional, Dictionary<string, string> values, HashSet<string> flags)
    {
        Positional = positional;
        _values = values;
        _flags = flags;
    }

    /// <summary>Arguments that are not options, in order.</summary>
    public IReadOnlyList<string> Positional { get; }

    /// <summary>Whether <c>--help</c> or <c>-h</c> was given.</summary>
    public bool WantsHelp => _flags.Contains("--help");

    /// <summary>Parses <paramref name="args"/> against the options the command knows.</summary>
    /// <param name="args">The arguments after the command name.</param>
    /// <param name="valueOptions">Options that take a value, e.g. <c>--out</c>.</param>
    /// <param name="flagOptions">Switches, e.g. <c>--force</c>.</param>
    /// <param name="parsed">The arguments, when they parse.</param>
    /// <param name="error">What is wrong, otherwise.</param>
    public static bool TryParse(
        IReadOnlyList<string> args,
        IReadOnlyCollection<string> valueOptions,
        IReadOnlyCollection<string> flagOptions,
        [NotNullWhen(true)] out CommandArguments? parsed,
        [NotNullWhen(false)] out string? error)
    {
        var positional = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        parsed = null;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "--help" or "-h")
            {
                flags.Add("--help");
                continue;
            }

            if (arg == "--")
            {
                // Everything after "--" is positional, so a file named "--force" can still be inspected.
                for (i++; i < args.Count; i++)
                {
                    positional.Add(args[i]);
                }

                break;
            }

            if (!arg.StartsWith('-') || arg == "-")
            {
                positional.Add(arg);
                continue;
            }

            string name = arg;
            string? inlineValue = null;
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                name = arg[..equals];
                inlineValue = arg[(equals + 1)..];
            }

            if (flagOptions.Contains(name))
            {
                if (inlineValue is not null)
                {
                    error = $"{name} takes no value.";
                    return false;
                }

                flags.Add(name);
                continue;
            }

            if (!valueOptions.Contains(name))
            {
                error = $"unknown option '{name}'.";
                return false;
            }

            if (values.ContainsKey(name))
            {
                error = $"{name} is given twice.";
                return false;
            }

            string? value = inlineValue;
            if (value is null)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    error = $"{name} needs a value.";
                    return false;
                }

                value = args[++i];
            }

            if (value.Length == 0)
            {
                error = $"{name} needs a value.";
                return false;
            }

            values[name] = value;
        }

        parsed = new CommandArguments(positional, values, flags);
        error = null;
        return true;
    }

    /// <summary>The value of an option, or <see langword="null"/> when it was not given.</summary>
    public string? Get(string option) => _values.TryGetValue(option, out string? value) ? value : null;

    /// <summary>Whether a switch was given.</summary>
    public bool Has(string flag) => _flags.Contains(flag);
}
