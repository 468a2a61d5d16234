using System.CommandLine;

namespace SecureComms.DevCert;

/// <summary>
/// The options that describe a request to a policy (<c>--caller</c>, <c>--method</c>, <c>--path</c>, <c>--scope</c>,
/// <c>--claim</c>, <c>--user</c>, <c>--user-claim</c>) and their reading into a <see cref="PolicyQuery"/>.
/// </summary>
internal sealed class PolicyQueryOptions
{
    private readonly Option<string> _caller = CommandLineOptions.Value("--caller", "spiffe-id", "the calling workload's SPIFFE ID, e.g. spiffe://example.org/orders", required: true);
    private readonly Option<string> _method = CommandLineOptions.Value("--method", "method", "the HTTP method (default GET; gRPC calls are POST)");
    private readonly Option<string> _path = CommandLineOptions.Value("--path", "path", "the request path as the service sees it (percent-decoded except %2F), e.g. /invoices/42", required: true);
    private readonly Option<string[]> _scopes = Repeated("--scope", "scope", "a scope the access token grants (repeat for more)");
    private readonly Option<string[]> _claims = Repeated("--claim", "type=value", "a claim of the access token (repeat for more; a type given twice is a JSON array)");
    private readonly Option<string> _user = CommandLineOptions.Value("--user", "sub", "the end user of a verified user context (its sub)");
    private readonly Option<string[]> _userClaims = Repeated("--user-claim", "type=value", "a claim of the verified end user (repeat for more; implies an end user)");

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Add(_caller);
        command.Add(_method);
        command.Add(_path);
        command.Add(_scopes);
        command.Add(_claims);
        command.Add(_user);
        command.Add(_userClaims);
    }

    /// <summary>Reads the request, or says in <paramref name="error"/> which value is wrong.</summary>
    public PolicyQuery? Read(ParseResult parsed, out string? error)
    {
        string callerText = parsed.GetRequiredValue(_caller);
        if (!TryParseCaller(callerText, out SpiffeId caller, out error))
        {
            error = $"--caller {error}";
            return null;
        }

        string path = parsed.GetRequiredValue(_path);
        if (path[0] != '/')
        {
            error = $"--path '{path}' must start with '/'.";
            return null;
        }

        var claims = new List<KeyValuePair<string, string>>();
        var userClaims = new List<KeyValuePair<string, string>>();
        if (!TryReadPairs("--claim", parsed.GetValue(_claims), claims, out error) || !TryReadPairs("--user-claim", parsed.GetValue(_userClaims), userClaims, out error))
        {
            return null;
        }

        return new PolicyQuery(caller, parsed.GetValue(_method) ?? "GET", path, parsed.GetValue(_scopes) ?? [], claims, parsed.GetValue(_user), userClaims);
    }

    /// <summary>A caller is one workload's SPIFFE ID (not a trust domain, not a pattern).</summary>
    public static bool TryParseCaller(string text, out SpiffeId caller, out string? error)
    {
        if (!SpiffeId.TryParse(text, out caller, out error))
        {
            error = $"'{text}': {error}";
            return false;
        }

        if (caller.IsTrustDomainId)
        {
            error = $"'{text}' names a trust domain; a caller is a workload such as {caller}/orders.";
            return false;
        }

        return true;
    }

    private static bool TryReadPairs(string name, string[]? values, List<KeyValuePair<string, string>> pairs, out string? error)
    {
        foreach (string value in values ?? [])
        {
            int equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                error = $"{name} '{value}' is not type=value.";
                return false;
            }

            pairs.Add(new KeyValuePair<string, string>(value[..equals], value[(equals + 1)..]));
        }

        error = null;
        return true;
    }

    private static Option<string[]> Repeated(string name, string helpName, string description)
    {
        var option = new Option<string[]>(name) { Description = description, HelpName = helpName, Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
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
}
