<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name></name>
    <message>
        <source>Fit graph to data</source>
        <extracomment>node ids the views should select after an edit (new or pasted nodes)</extracomment>
        <translation>使图适配数据</translation>
    </message>
</context>
<context>
    <name>FitToDataUI</name>
    <message>
        <source>The graph does not fit the loaded data ({data}). Fit it? {changes}</source>
        <translation>图与已载入的数据（{data}）不匹配。要自动适配吗？{changes}</translation>
    </message>
    <message>
        <source>Fit graph to data</source>
        <translation>使图适配数据</translation>
    </message>
    <message>
        <source>Load a data set first (Data panel), then fit the graph to it</source>
        <translation>请先载入数据集（数据面板），再让图适配它</translation>
    </message>
    <message>
        <source>The graph already fits the data</source>
        <translation>图已经与数据匹配</translation>
    </message>
    <message>
        <source>Cannot fit the graph automatically: {why}</source>
        <translation>无法自动适配图：{why}</translation>
    </message>
    <message>
        <source>Fitted the graph to the data: {changes}.</source>
        <translation>已使图适配数据：{changes}。</translation>
    </message>
    <message>
        <source>Still to fix: {why}</source>
        <translation>仍需修正：{why}</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
</context>
<context>
    <name>Language</name>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>NN Studio will use {language} the next time it starts. Restart NN Studio to switch now.</source>
        <translation>NN Studio 下次启动时将使用{language}。要立即切换，请重新启动 NN Studio。</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>&amp;Fit graph to data</source>
        <translation>使图适配数据(&amp;F)</translation>
    </message>
    <message>
        <source>Set the Input shape and the output layer to fit the loaded data (one undo step)</source>
        <translation>按已载入的数据设置输入层形状和输出层（可一步撤销）</translation>
    </message>
    <message>
        <source>does not fit the data: {why}</source>
        <translation>与数据不匹配：{why}</translation>
    </message>
    <message>
        <source>{text} (or Model ▸ Fit graph to data)</source>
        <translation>{text}（或使用 模型 ▸ 使图适配数据）</translation>
    </message>
    <message>
        <source>Cannot train: {why}</source>
        <translation>无法训练：{why}</translation>
    </message>
    <message>
        <source>{n} layers · {text}</source>
        <translation>{n} 层 · {text}</translation>
    </message>
</context>
<context>
    <name>OfferBar</name>
    <message>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
</context>
</TS>
