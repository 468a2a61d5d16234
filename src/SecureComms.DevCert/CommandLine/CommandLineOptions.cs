using System.CommandLine;

namespace SecureComms.DevCert;

/// <summary>The options the commands share in shape: a value with a name for help, never an empty string.</summary>
internal static class CommandLineOptions
{
    /// <summary>
    /// An option that takes one value, e.g. <c>--out &lt;folder&gt;</c>. An empty value, or another option taken as the
    /// value (<c>--ca= --out x</c>), is a usage error rather than a folder named <c>--out</c>.
    /// </summary>
    public static Option<string> Value(string name, string helpName, string description, bool required = false)
    {
        var option = new Option<string>(name) { Description = description, HelpName = helpName, Required = required };
        option.Validators.Add(result =>
        {
            foreach (System.CommandLine.Parsing.Token token in result.Tokens)
            {
                if (token.Value.Length == 0 || token.Value.StartsWith("--", StringComparison.Ordinal))
                {
                    result.AddError($"{name} needs a value.");
                    return;
                }
            }
        });
        return option;
    }

    /// <summary>A switch such as <c>--force</c>.</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };
}
