using Microsoft.Extensions.Configuration;

namespace SecureComms.DevCert;

/// <summary>
/// One service's central policy as the service itself would load it: its configuration files layered in order (later
/// files win, as <c>AddJsonFile</c> calls do), the <c>SecureComms:Authorization</c> section bound to
/// <see cref="SecureCommsAuthorizationOptions"/> and compiled by <see cref="CentralPolicy.Compile(SecureCommsAuthorizationOptions, List{string})"/>, the same code
/// that decides the service's requests. A configuration is named on the command line as one value: file names joined
/// by commas (<c>appsettings.json,securecomms.policy.json</c>).
/// </summary>
internal sealed class ServicePolicy
{
    private ServicePolicy(string source, IConfiguration configuration, SecureCommsAuthorizationOptions options, CentralPolicy policy)
    {
        Source = source;
        Configuration = configuration;
        Options = options;
        Policy = policy;
    }

    /// <summary>The configuration as named on the command line.</summary>
    public string Source { get; }

    /// <summary>The layered configuration (for the service's clients, listeners and certificate).</summary>
    public IConfiguration Configuration { get; }

    /// <summary>The bound <c>SecureComms:Authorization</c> section: the rules in configuration order.</summary>
    public SecureCommsAuthorizationOptions Options { get; }

    /// <summary>The compiled policy.</summary>
    public CentralPolicy Policy { get; }

    /// <summary>
    /// Loads <paramref name="source"/> (comma-separated files); on failure returns <see langword="null"/> with every
    /// problem in <paramref name="problems"/>: an unreadable file, or a policy the service would refuse at start-up
    /// (each with its configuration key).
    /// </summary>
    public static ServicePolicy? TryLoad(string source, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(problems);
        var builder = new ConfigurationBuilder();
        foreach (string file in source.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string path = Path.GetFullPath(file);
            if (!File.Exists(path))
            {
                problems.Add($"'{file}' does not exist.");
                continue;
            }

            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }

        if (problems.Count > 0)
        {
            return null;
        }

        IConfiguration configuration;
        try
        {
            configuration = builder.Build();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
        {
            problems.Add($"cannot read '{source}': {ex.Message}");
            return null;
        }

        var options = new SecureCommsAuthorizationOptions();
        try
        {
            configuration.GetSection(CentralPolicyProvider.Section).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            problems.Add($"{CentralPolicyProvider.Section}: {ex.Message}");
            return null;
        }

        int before = problems.Count;
        CentralPolicy policy = CentralPolicy.Compile(options, problems);
        return problems.Count == before ? new ServicePolicy(source, configuration, options, policy) : null;
    }
}
