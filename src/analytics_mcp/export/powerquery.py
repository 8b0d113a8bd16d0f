"""The Power Query M script for Power BI Desktop, generated from `tables.TABLES`.

It imports a table through the CSV export, page by page (List.Generate; the next page starts
after the last row's id), turns empty cells into nulls (the CSV writes null as an empty cell) and
applies each column's type. Web.Contents gets a fixed base URL with RelativePath and Query, so
scheduled refresh in the Power BI service accepts the data source.
"""

from __future__ import annotations

from analytics_mcp.export.tables import TABLES, Kind, Table

M_TYPES: dict[Kind, str] = {
    "string": "type text",
    "int": "Int64.Type",
    "float": "type number",
    "bool": "type logical",
    "timestamp": "type datetimezone",
    "json": "type text",  # JSON text
    "records": "type text",  # a JSON array
}
TOKEN_PLACEHOLDER = "YOUR_API_TOKEN"
PAGE_SIZE = 10_000

_HEADER = """\
// analytics-mcp: import exported data into Power BI.
// Power BI Desktop: Get Data -> Blank Query -> Advanced Editor, paste this script, and replace
// {token} with an API token that has the read scope.
// Tables: {tables}. Change the table name on the last line to load another one.
// Cells that started with = + - @ or a tab / carriage return arrive prefixed with ' (the CSV export
// neutralises spreadsheet formulas).
"""

_BODY = """\
let
    BaseUrl = {base_url},
    Token = "{token}",
    // Inclusive dates in the site's time zone (all sites: the tenant's). Default: the last 30 days.
    DateFrom = Date.ToText(Date.AddDays(Date.From(DateTime.LocalNow()), -30), "yyyy-MM-dd"),
    DateTo = Date.ToText(Date.From(DateTime.LocalNow()), "yyyy-MM-dd"),
    PageSize = {page_size},
    Tables = [
{tables}
    ],
    FetchPage = (spec as record, cursor as nullable text) as table =>
        let
            Range = if spec[paged] then [from = DateFrom, to = DateTo, limit = Text.From(PageSize)] else [],
            After = if cursor = null then [] else [cursor = cursor],
            Response = Web.Contents(
                BaseUrl,
                [
                    RelativePath = "export/" & spec[path],
                    Query = [format = "csv"] & Range & After,
                    Headers = [Authorization = "Bearer " & Token, Accept = "text/csv"]
                ]
            ),
            Rows = Csv.Document(
                Response,
                [
                    Delimiter = ",",
                    Columns = List.Count(spec[types]),
                    Encoding = 65001,
                    QuoteStyle = QuoteStyle.Csv
                ]
            )
        in
            Table.PromoteHeaders(Rows, [PromoteAllScalars = true]),
    LoadTable = (name as text) as table =>
        let
            spec = Record.Field(Tables, name),
            Pages = List.Generate(
                () => FetchPage(spec, null),
                (page) => page <> null,
                (page) =>
                    if spec[paged] and Table.RowCount(page) = PageSize
                    then FetchPage(spec, List.Last(Table.Column(page, "id")))
                    else null
            ),
            Combined = Table.Combine(Pages),
            Names = List.Transform(spec[types], each _{{0}}),
            WithNulls = Table.ReplaceValue(Combined, "", null, Replacer.ReplaceValue, Names),
            Typed = Table.TransformColumnTypes(WithNulls, spec[types], "en-US")
        in
            Typed
in
    LoadTable("{first}")
"""


def m_string(value: str) -> str:
    """An M text literal (a double quote is escaped by doubling it)."""
    return '"' + value.replace('"', '""') + '"'


def _table_entry(table: Table) -> str:
    types = ",\n".join(f"                {{{m_string(c.name)}, {M_TYPES[c.kind]}}}" for c in table.columns)
    paged = "true" if table.paged else "false"
    return (
        f"        {table.name} = [\n"
        f"            path = {m_string(table.path)},\n"
        f"            paged = {paged},\n"
        f"            types = {{\n{types}\n            }}\n"
        f"        ]"
    )


def powerquery_script(base_url: str) -> str:
    """The script; `base_url` is the API root, e.g. https://analytics.example.com/api/v1."""
    names = ", ".join(table.name for table in TABLES)
    header = _HEADER.format(token=TOKEN_PLACEHOLDER, tables=names)
    body = _BODY.format(
        base_url=m_string(base_url.rstrip("/") + "/"),
        token=TOKEN_PLACEHOLDER,
        page_size=PAGE_SIZE,
        tables=",\n".join(_table_entry(table) for table in TABLES),
        first=TABLES[0].name,
    )
    return header + body
