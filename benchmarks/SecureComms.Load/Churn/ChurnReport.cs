using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;

namespace SecureComms.Load.Churn;

/// <summary>
/// A churn run in markdown: requests and failures; the steady requests/s (median of the buckets between the warm-up
/// and the first rotation, with their range as the noise floor); for each rotation when it was loaded and seen, and the
/// lowest bucket from 2 s before it to 2 s after the peer saw it, against the steady median (the dip), and that window's
/// median against the steady median (a sustained slowdown, where a single low bucket may be the shared machine's noise).
/// </summary>
internal static class ChurnReport
{
    private static readonly TimeSpan DipMargin = TimeSpan.FromSeconds(2);

    public static string Markdown(ChurnResult result, TimeSpan bucket, TimeSpan warmup)
    {
        CultureInfo invariant = CultureInfo.InvariantCulture;
        double perSecond = 1 / bucket.TotalSeconds;
        long requests = result.Buckets.Sum();
        TimeSpan firstEvent = result.Events.Count == 0 ? result.Length : result.Events[0].At;
        double[] steady = [.. Rates(result.Buckets, bucket, warmup, firstEvent).Select(b => b.Rate)];
        Array.Sort(steady);
        double median = Median(steady);

        var text = new StringBuilder();
        text.AppendLine(invariant, $"### Churn: {result.Shape}");
        text.AppendLine();
        text.AppendLine(invariant, $"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC; client, server and token server in one process on loopback.");
        text.AppendLine(invariant, $"{requests:N0} requests in {result.Length.TotalSeconds:0.0} s, **{result.Failed} failed**; {result.TokensIssued} tokens issued, {result.JwksFetches} JWKS fetches by the server.");
        text.AppendLine(invariant, $"Steady, {warmup.TotalSeconds:0} s to {firstEvent.TotalSeconds:0.0} s ({steady.Length} buckets of {bucket.TotalMilliseconds:0} ms): median **{median:N0} requests/s**, lowest {(steady.Length == 0 ? double.NaN : steady[0]):N0} ({(steady.Length == 0 ? double.NaN : steady[0] / median):0.00}×), highest {(steady.Length == 0 ? double.NaN : steady[^1]):N0}.");
        text.AppendLine();
        text.AppendLine(invariant, $"| rotation | at | loaded by its owner | first seen by the peer | lowest bucket, {DipMargin.TotalSeconds:0} s before to {DipMargin.TotalSeconds:0} s after seen: requests/s (when) | dip: lowest vs steady median | window median vs steady median |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (ChurnEvent churn in result.Events)
        {
            TimeSpan? loaded = churn.Loaded();
            TimeSpan? seen = churn.Seen();
            TimeSpan windowEnd = (seen is { } s && s > churn.At ? s : churn.At) + DipMargin;
            (double Rate, TimeSpan Start)[] window = [.. Rates(result.Buckets, bucket, churn.At - DipMargin, windowEnd)];
            (double lowest, TimeSpan when) = window.Length == 0 ? (double.NaN, TimeSpan.Zero) : window.MinBy(b => b.Rate);
            double windowMedian = Median([.. window.Select(b => b.Rate)]);
            text.AppendLine(invariant, $"| {churn.What} | {churn.At.TotalSeconds:0.00} s | {After(churn.At, loaded)} | {After(churn.At, seen)} | {lowest:N0} ({when.TotalSeconds:0.00} s) | {lowest / median:0.00}× | {windowMedian / median:0.00}× |");
        }

        text.AppendLine();
        text.AppendLine("Times from the callers' start, warm-up included. Loaded: the side's certificate source applied the new files (for a signing key, the server's next JWKS fetch). Seen: the first request the server let through on a connection presenting the new certificate, or with a token the new key signed.");
        text.AppendLine();
        text.Append("Requests/s, second by second: ");
        int bucketsPerSecond = (int)Math.Round(perSecond);
        for (int i = 0; i + bucketsPerSecond <= result.Buckets.Length; i += bucketsPerSecond)
        {
            long second = 0;
            for (int j = i; j < i + bucketsPerSecond; j++)
            {
                second += result.Buckets[j];
            }

            text.Append(invariant, $"{(i == 0 ? "" : " ")}{second}");
        }

        text.AppendLine();
        text.AppendLine();
        text.Append("New connections that carried requests, second by second: ");
        text.AppendJoin(' ', result.NewConnectionsPerSecond);
        text.AppendLine();
        text.AppendLine();
        if (result.Failed == 0)
        {
            text.AppendLine("Failures: none.");
        }
        else
        {
            text.AppendLine(invariant, $"Failures ({result.Failed}; the first {result.Failures.Count}):");
            foreach ((TimeSpan at, string reason) in result.Failures)
            {
                text.AppendLine(invariant, $"- {at.TotalSeconds:0.00} s: {reason}");
            }
        }

        text.AppendLine();
        text.AppendLine(result.Warnings.Count == 0 ? "Warnings and errors logged by either side: none." : "Warnings and errors logged, by event id (count: first message):");
        foreach (string warning in result.Warnings)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {warning}");
        }

        text.AppendLine();
        return text.ToString();
    }

    /// <summary>The requests/s and start of each whole bucket between <paramref name="from"/> and <paramref name="to"/>.</summary>
    private static IEnumerable<(double Rate, TimeSpan Start)> Rates(long[] buckets, TimeSpan bucket, TimeSpan from, TimeSpan to)
    {
        int first = Math.Max(0, (int)Math.Ceiling(from / bucket));
        int last = Math.Min(buckets.Length, (int)Math.Floor(to / bucket));
        for (int i = first; i < last; i++)
        {
            yield return (buckets[i] / bucket.TotalSeconds, i * bucket);
        }
    }

    private static double Median(double[] values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string After(TimeSpan at, TimeSpan? then) =>
        then is { } time ? string.Create(CultureInfo.InvariantCulture, $"+{(time - at).TotalSeconds:0.00} s") : "not seen";
}
